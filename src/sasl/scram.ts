// SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), with the -PLUS variants binding the
// exchange to the TLS connection: tls-exporter (RFC 9266) or tls-unique (RFC 5929).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeUtf8, normalizeName } from './normalize.js';
import {
  checkExtensions,
  checkNonce,
  decodeBase64Strict,
  digest,
  expectAttribute,
  hmac,
  parseGs2Header,
  scramKeys,
  ScramSyntaxError,
  unescapeSaslname,
  xor,
  type Gs2Header,
  type ScramAlgorithm,
} from './scramcore.js';
import { decodeScramSecret, type DecodedScramSecret } from './secrets.js';
import {
  challenge,
  failure,
  finished,
  type ChannelBindingName,
  type SaslContext,
  type SaslServer,
  type SaslStep,
} from './types.js';

const SERVER_NONCE_BYTES = 18;

interface ClientFirst {
  gs2: Gs2Header;
  username: string;
  nonce: string;
  bare: string;
}

interface ClientFinal {
  cbind: Buffer;
  nonce: string;
  proof: Buffer;
  withoutProof: string;
}

/** Server state after a valid client-first message. */
interface Pending {
  username: string;
  account: string;
  secret: DecodedScramSecret;
  nonce: string;
  clientFirstBare: string;
  serverFirst: string;
  /** Expected decoded c= value: gs2 header plus channel-binding data. */
  cbind: Buffer;
}

export class ScramServer implements SaslServer {
  readonly mechanism: string;
  private state: 'start' | 'waiting' | 'serverFirst' | 'done' = 'start';
  private pending: Pending | null = null;

  constructor(
    private readonly ctx: SaslContext,
    private readonly alg: ScramAlgorithm,
    private readonly plus: boolean,
  ) {
    this.mechanism = plus ? `${alg.name}-PLUS` : alg.name;
  }

  async step(response: Buffer | null): Promise<SaslStep> {
    switch (this.state) {
      case 'start':
        if (this.plus && !this.ctx.tls) {
          this.state = 'done';
          return failure('channelBindingUnavailable', `${this.mechanism} requires TLS`);
        }
        if (response === null) {
          // RFC 4422 §5: SCRAM is client-first, so ask for the client-first message.
          this.state = 'waiting';
          return challenge(Buffer.alloc(0));
        }
        return this.clientFirst(response);
      case 'waiting':
        return this.clientFirst(response);
      case 'serverFirst':
        return this.clientFinal(response);
      case 'done':
        return finished();
    }
  }

  private async clientFirst(response: Buffer | null): Promise<SaslStep> {
    this.state = 'done';
    const msg = parseMessage(response, parseClientFirst);
    if (!('gs2' in msg)) return msg;
    const cbind = this.expectedChannelBinding(msg.gs2);
    if (!Buffer.isBuffer(cbind)) return cbind;
    // RFC 5802 §5.1: only an authzid equal to the user name is supported.
    if (msg.gs2.authzid !== null && normalizeName(msg.gs2.authzid) !== msg.username) {
      return failure('authzFailed', 'authorization identity must equal the user name');
    }
    const user = await this.ctx.lookup(msg.username);
    if (user === null) return failure('unknownUser', 'unknown user');
    const stored = this.alg.hash === 'sha1' ? user.secrets?.scramSHA1 : user.secrets?.scramSHA256;
    const secret = decodeScramSecret(stored, this.alg.size);
    if (secret === null) {
      return failure(
        'missingSecrets',
        `no ${this.alg.name} secrets stored; the password must be set again`,
      );
    }
    const nonce = msg.nonce + (this.ctx.scramServerNonce?.() ?? this.serverNonce());
    // RFC 5802 §7: server-first-message = nonce "," salt "," iteration-count.
    const serverFirst = `r=${nonce},s=${secret.salt.toString('base64')},i=${secret.iterations}`;
    this.pending = {
      username: msg.username,
      account: user.account,
      secret,
      nonce,
      clientFirstBare: msg.bare,
      serverFirst,
      cbind,
    };
    this.state = 'serverFirst';
    return challenge(serverFirst);
  }

  private async clientFinal(response: Buffer | null): Promise<SaslStep> {
    this.state = 'done';
    const p = this.pending;
    this.pending = null;
    if (p === null) return finished();
    const msg = parseMessage(response, parseClientFinal);
    if (!('proof' in msg)) return msg;
    if (msg.nonce !== p.nonce) return failure('badProtocol', 'nonce does not match');
    if (msg.proof.length !== this.alg.size) {
      return failure('badProtocol', 'client proof has the wrong length');
    }
    if (msg.cbind.length !== p.cbind.length || !timingSafeEqual(msg.cbind, p.cbind)) {
      return failure('badChannelBinding', 'channel bindings do not match, potential mitm');
    }
    // RFC 5802 §3: AuthMessage, ClientSignature, ClientKey recovered from the proof.
    const authMessage = `${p.clientFirstBare},${p.serverFirst},${msg.withoutProof}`;
    const { storedKey, serverKey } = scramKeys(this.alg.hash, p.secret.saltedPassword);
    const clientKey = xor(msg.proof, hmac(this.alg.hash, storedKey, authMessage));
    if (!timingSafeEqual(digest(this.alg.hash, clientKey), storedKey)) {
      return failure('badCredentials', 'bad user name or password');
    }
    const verifier = hmac(this.alg.hash, serverKey, authMessage).toString('base64');
    return {
      kind: 'success',
      username: p.username,
      account: p.account,
      final: Buffer.from(`v=${verifier}`),
    };
  }

  /** The decoded c= value the client must send, or a failure (RFC 5802 §6). */
  private expectedChannelBinding(gs2: Gs2Header): Buffer | SaslStep {
    const header = Buffer.from(gs2.raw, 'utf8');
    if (!this.plus) {
      if (gs2.flag === 'p') {
        return failure('badProtocol', `channel binding requested with ${this.mechanism}`);
      }
      // "y": the client could bind but believes the server cannot; since it can, a
      // man in the middle may have removed the -PLUS mechanisms from the list.
      if (gs2.flag === 'y' && this.bindingAvailable()) {
        return failure('badChannelBinding', 'channel binding downgrade detected, potential mitm');
      }
      return header;
    }
    if (gs2.flag !== 'p' || gs2.cbName === null) {
      return failure('badProtocol', `${this.mechanism} requires the client to use channel binding`);
    }
    if (gs2.cbName !== 'tls-exporter' && gs2.cbName !== 'tls-unique') {
      return failure('channelBindingUnavailable', `unsupported channel binding type ${gs2.cbName}`);
    }
    const data = this.ctx.tls?.channelBinding(gs2.cbName) ?? null;
    if (data === null) {
      return failure(
        'channelBindingUnavailable',
        `channel binding ${gs2.cbName} not available on ${this.ctx.tls?.version ?? 'this connection'}`,
      );
    }
    return Buffer.concat([header, data]);
  }

  private bindingAvailable(): boolean {
    const tls = this.ctx.tls;
    if (!tls) return false;
    const types: ChannelBindingName[] = ['tls-exporter', 'tls-unique'];
    return types.some((t) => tls.channelBinding(t) !== null);
  }

  private serverNonce(): string {
    return (this.ctx.random ?? randomBytes)(SERVER_NONCE_BYTES).toString('base64');
  }
}

/** Decodes and parses a client message; syntax errors become badProtocol failures. */
function parseMessage<T>(response: Buffer | null, parse: (text: string) => T): T | SaslStep {
  const text = response === null ? null : decodeUtf8(response);
  if (text === null) return failure('badProtocol', 'bad scram protocol message: not valid UTF-8');
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof ScramSyntaxError) {
      return failure('badProtocol', `bad scram protocol message: ${err.message}`);
    }
    throw err;
  }
}

/** RFC 5802 §7: client-first-message = gs2-header client-first-message-bare. */
function parseClientFirst(text: string): ClientFirst {
  const parts = text.split(',');
  const gs2 = parseGs2Header(parts[0], parts[1]);
  const bareParts = parts.slice(2);
  // reserved-mext ("m=") is refused by expectAttribute: no mandatory extensions are known.
  const username = normalizeName(unescapeSaslname(expectAttribute(bareParts[0], 'n')));
  const nonce = checkNonce(expectAttribute(bareParts[1], 'r'));
  checkExtensions(bareParts.slice(2));
  return { gs2, username, nonce, bare: bareParts.join(',') };
}

/** RFC 5802 §7: client-final-message = channel-binding "," nonce ["," extensions] "," proof. */
function parseClientFinal(text: string): ClientFinal {
  const parts = text.split(',');
  if (parts.length < 3) throw new ScramSyntaxError('client-final message too short');
  const cbind = decodeBase64Strict(expectAttribute(parts[0], 'c'), 'channel binding');
  const nonce = checkNonce(expectAttribute(parts[1], 'r'));
  checkExtensions(parts.slice(2, -1));
  const proof = decodeBase64Strict(expectAttribute(parts[parts.length - 1], 'p'), 'proof');
  return { cbind, nonce, proof, withoutProof: parts.slice(0, -1).join(',') };
}
