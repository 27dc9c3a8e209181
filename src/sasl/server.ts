// Server-side SASL (RFC 4422) for IMAP AUTHENTICATE and SMTP AUTH.
import { CramMd5Server } from './crammd5.js';
import { ExternalServer } from './external.js';
import { LoginServer } from './login.js';
import { PlainServer } from './plain.js';
import { ScramServer } from './scram.js';
import { SCRAM_SHA_1, SCRAM_SHA_256 } from './scramcore.js';
import type { SaslContext, SaslServer } from './types.js';
import { SASL_MECHANISM_NAMES } from '../config/index.js';

export type {
  ChannelBindingName,
  SaslContext,
  SaslFailureReason,
  SaslServer,
  SaslStep,
  SaslTlsInfo,
} from './types.js';

/** Supported mechanisms, strongest first (the order for announcing them). */
export const MECHANISMS: readonly string[] = Object.freeze([...SASL_MECHANISM_NAMES]);

/**
 * A server for one authentication exchange, or null for an unsupported mechanism.
 * Mechanism names are matched case-insensitively.
 */
export function createSaslServer(mechanism: string, ctx: SaslContext): SaslServer | null {
  // ASCII-only case folding: toUpperCase() would turn "plaın" into "PLAIN".
  switch (mechanism.replace(/[a-z]/g, (c) => c.toUpperCase())) {
    case 'PLAIN':
      return new PlainServer(ctx);
    case 'LOGIN':
      return new LoginServer(ctx);
    case 'CRAM-MD5':
      return new CramMd5Server(ctx);
    case 'SCRAM-SHA-1':
      return new ScramServer(ctx, SCRAM_SHA_1, false);
    case 'SCRAM-SHA-1-PLUS':
      return new ScramServer(ctx, SCRAM_SHA_1, true);
    case 'SCRAM-SHA-256':
      return new ScramServer(ctx, SCRAM_SHA_256, false);
    case 'SCRAM-SHA-256-PLUS':
      return new ScramServer(ctx, SCRAM_SHA_256, true);
    case 'EXTERNAL':
      return new ExternalServer(ctx);
    default:
      return null;
  }
}
