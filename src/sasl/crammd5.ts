// CRAM-MD5 (RFC 2195), verified against the stored HMAC-MD5 inner and outer states.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { MD5_BLOCK_SIZE, md5Resume } from './md5.js';
import { decodeUtf8, normalizeName } from './normalize.js';
import { decodeCramMd5Secret } from './secrets.js';
import {
  challenge,
  failure,
  finished,
  type SaslContext,
  type SaslServer,
  type SaslStep,
} from './types.js';

// RFC 2195 §2: the user name, a space, and the digest as 32 lowercase hex digits.
const RESPONSE = /^(.+) ([0-9a-f]{32})$/s;

export class CramMd5Server implements SaslServer {
  readonly mechanism = 'CRAM-MD5';
  private state: 'start' | 'challenged' | 'done' = 'start';
  private challenge = Buffer.alloc(0);

  constructor(private readonly ctx: SaslContext) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    switch (this.state) {
      case 'start':
        // The server speaks first (RFC 2195 §2); an empty initial response is tolerated.
        if (response !== null && response.length > 0) {
          this.state = 'done';
          return failure('badProtocol', 'CRAM-MD5 does not take an initial response');
        }
        this.challenge = Buffer.from(this.ctx.cramChallenge?.() ?? makeChallenge(this.ctx));
        this.state = 'challenged';
        return challenge(this.challenge);
      case 'challenged':
        this.state = 'done';
        return this.verify(response);
      case 'done':
        return finished();
    }
  }

  private async verify(response: Buffer | null): Promise<SaslStep> {
    const text = response === null ? null : decodeUtf8(response);
    const m = text === null ? null : RESPONSE.exec(text);
    if (!m) return failure('badProtocol', 'CRAM-MD5 response must be "user <32 lowercase hex>"');
    const username = normalizeName(m[1]!);
    const user = await this.ctx.lookup(username);
    if (user === null) return failure('unknownUser', 'unknown user');
    const states = decodeCramMd5Secret(user.secrets?.cramMD5);
    if (states === null) {
      return failure(
        'missingSecrets',
        'no CRAM-MD5 secrets stored; the password must be set again',
      );
    }
    // RFC 2104 §2: H(K XOR opad, H(K XOR ipad, text)), resumed after the key block.
    const inner = md5Resume(states.ipad, MD5_BLOCK_SIZE, this.challenge);
    const expected = md5Resume(states.opad, MD5_BLOCK_SIZE, inner);
    if (!timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'))) {
      return failure('badCredentials', 'bad user name or password');
    }
    return { kind: 'success', username, account: user.account };
  }
}

/** RFC 2195 §2: a msg-id style challenge, `<random.unixnanos@hostname>`. */
function makeChallenge(ctx: SaslContext): string {
  const rand = (ctx.random ?? randomBytes)(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
  const nanos = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  return `<${rand}.${nanos}@${ctx.hostname}>`;
}
