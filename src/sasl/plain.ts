// PLAIN (RFC 4616).
import { decodeUtf8, normalizeName } from './normalize.js';
import { authenticatePassword } from './password.js';
import {
  challenge,
  failure,
  finished,
  type SaslContext,
  type SaslServer,
  type SaslStep,
} from './types.js';

export class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  private state: 'start' | 'waiting' | 'done' = 'start';

  constructor(private readonly ctx: SaslContext) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    if (this.state === 'done') return finished();
    if (response === null && this.state === 'start') {
      // RFC 4422 §5: no initial response, so ask for it with an empty challenge.
      this.state = 'waiting';
      return challenge(Buffer.alloc(0));
    }
    this.state = 'done';
    if (response === null) return failure('badProtocol', 'missing PLAIN response');
    return this.verify(response);
  }

  private async verify(response: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(response);
    if (text === null) return failure('badProtocol', 'PLAIN message is not valid UTF-8');
    // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
    const fields = text.split('\0');
    if (fields.length !== 3) {
      return failure('badProtocol', 'PLAIN message must have exactly three NUL-separated fields');
    }
    const [authzid, authcid, password] = fields as [string, string, string];
    if (authcid === '' || password === '') {
      return failure('badProtocol', 'PLAIN authentication identity and password must not be empty');
    }
    const username = normalizeName(authcid);
    if (authzid !== '' && normalizeName(authzid) !== username) {
      return failure('authzFailed', 'authorization identity must be empty or equal the user name');
    }
    return authenticatePassword(this.ctx, username, password);
  }
}
