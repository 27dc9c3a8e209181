// LOGIN (draft-murchison-sasl-login-00): the server asks "Username:" and then "Password:".
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

const USERNAME = Buffer.from('Username:');
const PASSWORD = Buffer.from('Password:');

export class LoginServer implements SaslServer {
  readonly mechanism = 'LOGIN';
  private state: 'start' | 'username' | 'password' | 'done' = 'start';
  private username = '';

  constructor(private readonly ctx: SaslContext) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    switch (this.state) {
      case 'start':
        // An initial response carries the user name; an empty or absent one means "ask".
        if (response === null || response.length === 0) {
          this.state = 'username';
          return challenge(USERNAME);
        }
        return this.takeUsername(response);
      case 'username':
        return this.takeUsername(response);
      case 'password':
        return this.takePassword(response);
      case 'done':
        return finished();
    }
  }

  private takeUsername(response: Buffer | null): SaslStep {
    const name = response === null ? null : decodeUtf8(response);
    if (name === null || name === '' || name.includes('\0')) {
      this.state = 'done';
      return failure('badProtocol', 'LOGIN user name missing or not valid UTF-8');
    }
    this.username = normalizeName(name);
    this.state = 'password';
    return challenge(PASSWORD);
  }

  private async takePassword(response: Buffer | null): Promise<SaslStep> {
    this.state = 'done';
    const password = response === null ? null : decodeUtf8(response);
    if (password === null)
      return failure('badProtocol', 'LOGIN password missing or not valid UTF-8');
    return authenticatePassword(this.ctx, this.username, password);
  }
}
