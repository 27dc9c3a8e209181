// The interface between the SASL mechanisms and the protocol layers (IMAP AUTHENTICATE,
// RFC 9051 §6.2.2; SMTP AUTH, RFC 4954). The protocol layer handles base64 and the "*"
// abort; mechanisms work on decoded bytes.
import type { StoredSecrets } from './secrets.js';

export type ChannelBindingName = 'tls-exporter' | 'tls-unique';

export interface SaslTlsInfo {
  /** Channel-binding data of the connection, or null when that type is not available. */
  channelBinding(type: ChannelBindingName): Buffer | null;
  /** Negotiated protocol, e.g. "TLSv1.3". */
  version: string;
}

export interface SaslContext {
  /** Finds an account by login name (already NFC-normalised); null for an unknown user. */
  lookup(username: string): Promise<{ account: string; secrets: StoredSecrets | null } | null>;
  /** TLS state of the connection; null or undefined on plaintext. */
  tls?: SaslTlsInfo | null;
  /** Set when a TLS client certificate already identified an account. */
  externalIdentity?: { account: string; loginAddress: string } | null;
  /** Server name, used in the CRAM-MD5 challenge. */
  hostname: string;
  /** For EXTERNAL: whether `address` is another login address of `account`. */
  allowAddresses?(account: string, address: string): Promise<boolean>;
  /** Random bytes; default crypto.randomBytes. */
  random?: (n: number) => Buffer;
  /** Overrides the SCRAM server nonce part (for fixed test vectors). */
  scramServerNonce?: () => string;
  /** Overrides the whole CRAM-MD5 challenge (for fixed test vectors). */
  cramChallenge?: () => string;
}

export type SaslFailureReason =
  | 'badCredentials'
  | 'missingSecrets'
  | 'badProtocol'
  | 'aborted'
  | 'badChannelBinding'
  | 'authzFailed'
  | 'unknownUser'
  | 'channelBindingUnavailable';

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  | {
      kind: 'success';
      username: string;
      account: string;
      /** Server data to send with the success (the SCRAM server-final message). */
      final?: Buffer;
    }
  | { kind: 'failure'; reason: SaslFailureReason; message: string };

export interface SaslServer {
  readonly mechanism: string;
  /**
   * Feeds the next client response. The first call receives the initial response, or null
   * when the client sent none (an empty initial response is an empty Buffer).
   */
  step(response: Buffer | null): Promise<SaslStep>;
}

export function challenge(data: Buffer | string): SaslStep {
  return { kind: 'challenge', data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

export function failure(reason: SaslFailureReason, message: string): SaslStep {
  return { kind: 'failure', reason, message };
}

/** The answer to a step after the exchange has ended. */
export function finished(): SaslStep {
  return failure('badProtocol', 'authentication exchange already finished');
}
