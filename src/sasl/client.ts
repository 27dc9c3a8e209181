// Client side of PLAIN, LOGIN, CRAM-MD5, EXTERNAL and SCRAM-SHA-1/256(-PLUS), for tests and for
// authenticating to other servers (e.g. a smarthost with SMTP AUTH).
import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeUtf8, normalizeName, normalizePassword } from './normalize.js';
import {
  checkExtensions,
  checkNonce,
  decodeBase64Strict,
  escapeSaslname,
  expectAttribute,
  hmac,
  parseAttribute,
  parseIterations,
  SCRAM_SHA_1,
  SCRAM_SHA_256,
  scramKeys,
  ScramSyntaxError,
  xor,
  type ScramAlgorithm,
} from './scramcore.js';
import type { ChannelBindingName } from './types.js';
import { MECHANISMS } from './server.js';

export class SaslClientError extends Error {
  override readonly name = 'SaslClientError';
}

export interface SaslClientOptions {
  username: string;
  password: string;
  /** Authorization identity, for PLAIN, SCRAM and EXTERNAL (ignored by LOGIN, CRAM-MD5). */
  authzid?: string;
  /**
   * Channel binding of the connection. Required for -PLUS mechanisms. With a plain SCRAM
   * mechanism it means "the client can bind but the server did not offer -PLUS" (gs2 "y").
   */
  channelBinding?: { type: ChannelBindingName; data: Buffer } | null;
  /** SCRAM client nonce (printable ASCII without ","); default random. */
  nonce?: string;
  /** Random bytes; default crypto.randomBytes. */
  random?: (n: number) => Buffer;
  /** Highest SCRAM iteration count accepted from a server; default 100000. */
  maxIterations?: number;
}

export interface SaslClient {
  readonly mechanism: string;
  /** The initial response, or null when the mechanism waits for a first challenge. */
  start(): Buffer | null;
  /**
   * The response to a server challenge. Called before start(), it returns the initial
   * response (for servers that cannot take one). For SCRAM the last call receives the
   * server-final message and throws SaslClientError unless the server signature is valid.
   */
  step(challenge: Buffer): Buffer;
  /** True once the exchange is complete from the client's point of view. */
  readonly done: boolean;
}

/** The client speaks every mechanism the server does. */
export const CLIENT_MECHANISMS: readonly string[] = MECHANISMS;

/** A client for one exchange; throws SaslClientError for an unsupported mechanism. */
export function createSaslClient(mechanism: string, opts: SaslClientOptions): SaslClient {
  const name = mechanism.replace(/[a-z]/g, (c) => c.toUpperCase());
  switch (name) {
    case 'PLAIN':
      return new PlainClient(opts);
    case 'LOGIN':
      return new LoginClient(opts);
    case 'CRAM-MD5':
      return new CramMd5Client(opts);
    case 'EXTERNAL':
      return new ExternalClient(opts);
    case 'SCRAM-SHA-1':
    case 'SCRAM-SHA-1-PLUS':
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-256-PLUS': {
      const alg = name.startsWith('SCRAM-SHA-256') ? SCRAM_SHA_256 : SCRAM_SHA_1;
      return new ScramClient(opts, alg, name.endsWith('-PLUS'));
    }
    default:
      throw new SaslClientError(`unsupported SASL mechanism ${mechanism}`);
  }
}

/** Shared bookkeeping: initial response, and challenges numbered from 0. */
abstract class BaseClient implements SaslClient {
  abstract readonly mechanism: string;
  done = false;
  private started = false;
  private steps = 0;

  protected abstract initial(): Buffer | null;
  protected abstract respond(challenge: Buffer, index: number): Buffer;

  start(): Buffer | null {
    if (this.started) throw new SaslClientError('exchange already started');
    this.started = true;
    return this.initial();
  }

  step(challenge: Buffer): Buffer {
    if (!this.started) {
      const first = this.start();
      if (first !== null) return first;
    }
    if (this.done)
      throw new SaslClientError(`unexpected challenge after ${this.mechanism} completed`);
    return this.respond(challenge, this.steps++);
  }
}

class PlainClient extends BaseClient {
  readonly mechanism = 'PLAIN';
  constructor(private readonly opts: SaslClientOptions) {
    super();
  }
  protected initial(): Buffer {
    // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
    const { authzid = '', username, password } = this.opts;
    this.done = true;
    return Buffer.from(`${normalizeName(authzid)}\0${normalizeName(username)}\0${password}`);
  }
  protected respond(): Buffer {
    throw new SaslClientError('unexpected PLAIN challenge');
  }
}

class LoginClient extends BaseClient {
  readonly mechanism = 'LOGIN';
  constructor(private readonly opts: SaslClientOptions) {
    super();
  }
  protected initial(): null {
    return null;
  }
  // draft-murchison-sasl-login-00: the user name, then the password, whatever the prompts.
  protected respond(_challenge: Buffer, index: number): Buffer {
    if (index === 0) return Buffer.from(normalizeName(this.opts.username));
    this.done = true;
    return Buffer.from(this.opts.password);
  }
}

class CramMd5Client extends BaseClient {
  readonly mechanism = 'CRAM-MD5';
  constructor(private readonly opts: SaslClientOptions) {
    super();
  }
  protected initial(): null {
    return null;
  }
  // RFC 2195 §2: user name, space, lowercase hex HMAC-MD5(password, challenge).
  protected respond(challenge: Buffer): Buffer {
    const key = Buffer.from(normalizePassword(this.opts.password), 'utf8');
    const mac = createHmac('md5', key).update(challenge).digest('hex');
    this.done = true;
    return Buffer.from(`${normalizeName(this.opts.username)} ${mac}`);
  }
}

class ExternalClient extends BaseClient {
  readonly mechanism = 'EXTERNAL';
  constructor(private readonly opts: SaslClientOptions) {
    super();
  }
  // RFC 4422 Appendix A.1: the message is the authorization identity, possibly empty.
  protected initial(): Buffer {
    this.done = true;
    return Buffer.from(normalizeName(this.opts.authzid ?? ''));
  }
  protected respond(): Buffer {
    throw new SaslClientError('unexpected EXTERNAL challenge');
  }
}

const CLIENT_NONCE_BYTES = 18;
const DEFAULT_MAX_ITERATIONS = 100_000;

class ScramClient extends BaseClient {
  readonly mechanism: string;
  private readonly gs2: string;
  private readonly clientFirstBare: string;
  private readonly clientNonce: string;
  private serverSignature: Buffer | null = null;

  constructor(
    private readonly opts: SaslClientOptions,
    private readonly alg: ScramAlgorithm,
    private readonly plus: boolean,
  ) {
    super();
    this.mechanism = plus ? `${alg.name}-PLUS` : alg.name;
    const cb = opts.channelBinding ?? null;
    if (plus && cb === null) {
      throw new SaslClientError(`${this.mechanism} needs the connection's channel binding`);
    }
    // RFC 5802 §7: gs2-header = gs2-cbind-flag "," [ authzid ] ",".
    const flag = plus ? `p=${cb!.type}` : cb === null ? 'n' : 'y';
    const authz = opts.authzid ? `a=${escapeSaslname(normalizeName(opts.authzid))}` : '';
    this.gs2 = `${flag},${authz},`;
    this.clientNonce =
      opts.nonce ?? (opts.random ?? randomBytes)(CLIENT_NONCE_BYTES).toString('base64');
    try {
      checkNonce(this.clientNonce);
    } catch {
      throw new SaslClientError('SCRAM client nonce must be printable ASCII without ","');
    }
    this.clientFirstBare = `n=${escapeSaslname(normalizeName(opts.username))},r=${this.clientNonce}`;
  }

  protected initial(): Buffer {
    return Buffer.from(this.gs2 + this.clientFirstBare);
  }

  protected respond(challenge: Buffer, index: number): Buffer {
    const text = decodeUtf8(challenge);
    if (text === null) throw new SaslClientError('SCRAM server message is not valid UTF-8');
    try {
      return index === 0 ? this.clientFinal(text) : this.verifyServerFinal(text);
    } catch (err) {
      if (err instanceof ScramSyntaxError) {
        throw new SaslClientError(`bad SCRAM server message: ${err.message}`);
      }
      throw err;
    }
  }

  /** RFC 5802 §3, §7: answers server-first with client-final and keeps ServerSignature. */
  private clientFinal(serverFirst: string): Buffer {
    const parts = serverFirst.split(',');
    const nonce = checkNonce(expectAttribute(parts[0], 'r'));
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new SaslClientError('server nonce does not extend the client nonce');
    }
    const salt = decodeBase64Strict(expectAttribute(parts[1], 's'), 'salt');
    if (salt.length === 0) throw new SaslClientError('empty SCRAM salt');
    const iterations = parseIterations(expectAttribute(parts[2], 'i'));
    const max = this.opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
    if (iterations > max)
      throw new SaslClientError(`SCRAM iteration count ${iterations} above ${max}`);
    checkExtensions(parts.slice(3));

    const password = Buffer.from(normalizePassword(this.opts.password), 'utf8');
    const salted = pbkdf2Sync(password, salt, iterations, this.alg.size, this.alg.hash);
    const cbData = this.plus ? this.opts.channelBinding!.data : Buffer.alloc(0);
    const cbind = Buffer.concat([Buffer.from(this.gs2), cbData]).toString('base64');
    const withoutProof = `c=${cbind},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const { clientKey, storedKey, serverKey } = scramKeys(this.alg.hash, salted);
    const proof = xor(clientKey, hmac(this.alg.hash, storedKey, authMessage));
    this.serverSignature = hmac(this.alg.hash, serverKey, authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** RFC 5802 §7: server-final-message = (server-error / verifier) ["," extensions]. */
  private verifyServerFinal(serverFinal: string): Buffer {
    const expected = this.serverSignature;
    if (expected === null) throw new SaslClientError('unexpected SCRAM challenge');
    const parts = serverFinal.split(',');
    const first = parseAttribute(parts[0] ?? '');
    if (first.name === 'e') throw new SaslClientError(`SCRAM server error: ${first.value}`);
    const signature = decodeBase64Strict(expectAttribute(parts[0], 'v'), 'verifier');
    checkExtensions(parts.slice(1));
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new SaslClientError(
        'SCRAM server signature is wrong: the server does not know the password',
      );
    }
    this.done = true;
    return Buffer.alloc(0);
  }
}
