// EXTERNAL (RFC 4422 Appendix A), backed by a TLS client certificate that already
// identified an account. The client message is the authorization identity, possibly empty.
import { decodeUtf8, normalizeName } from './normalize.js';
import {
  challenge,
  failure,
  finished,
  type SaslContext,
  type SaslServer,
  type SaslStep,
} from './types.js';

export class ExternalServer implements SaslServer {
  readonly mechanism = 'EXTERNAL';
  private state: 'start' | 'waiting' | 'done' = 'start';

  constructor(private readonly ctx: SaslContext) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    if (this.state === 'done') return finished();
    const identity = this.ctx.externalIdentity;
    if (!identity) {
      this.state = 'done';
      return failure('badCredentials', 'no TLS client certificate identified an account');
    }
    if (response === null && this.state === 'start') {
      // RFC 4422 Appendix A.1: without an initial response the server sends an empty challenge.
      this.state = 'waiting';
      return challenge(Buffer.alloc(0));
    }
    this.state = 'done';
    const authzid = response === null ? null : decodeUtf8(response);
    if (authzid === null || authzid.includes('\0')) {
      return failure('badProtocol', 'EXTERNAL authorization identity is not valid UTF-8');
    }
    return this.authorize(identity, normalizeName(authzid));
  }

  private async authorize(
    identity: { account: string; loginAddress: string },
    authzid: string,
  ): Promise<SaslStep> {
    const { account, loginAddress } = identity;
    if (authzid === '' || authzid === loginAddress) {
      return { kind: 'success', username: loginAddress, account };
    }
    // Another login address is allowed only when it belongs to the same account.
    if (this.ctx.allowAddresses && (await this.ctx.allowAddresses(account, authzid))) {
      return { kind: 'success', username: authzid, account };
    }
    return failure(
      'authzFailed',
      'authorization identity is not an address of the certificate account',
    );
  }
}
