// AUTH (RFC 4954) with the shared SASL client: SCRAM with channel binding first, PLAIN
// only under TLS.
import type { TLSSocket } from 'node:tls';
import {
  channelBindingFromSocket,
  createSaslClient,
  SaslClientError,
  type ChannelBindingName,
} from '../sasl/index.js';
import type { Conn } from './conn.js';
import { SmtpClientError } from './errors.js';

/** Our order of preference. */
export const AUTH_PREFERENCE = [
  'SCRAM-SHA-256-PLUS',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-1',
  'PLAIN',
] as const;

// More round trips than any of our mechanisms needs means a confused server.
const MAX_STEPS = 8;

type ChannelBinding = { type: ChannelBindingName; data: Buffer };

/** tls-exporter on TLS 1.3, tls-unique before (RFC 9266 §3). */
function channelBinding(sock: TLSSocket | null): ChannelBinding | null {
  if (sock === null) return null;
  const info = channelBindingFromSocket(sock, { side: 'client' });
  const type: ChannelBindingName = info.version === 'TLSv1.3' ? 'tls-exporter' : 'tls-unique';
  const data = info.channelBinding(type);
  return data === null ? null : { type, data };
}

/** The mechanism to use, or null when none of ours is offered and allowed. */
export function chooseMechanism(
  offered: ReadonlySet<string>,
  allowed: readonly string[] | undefined,
  tls: boolean,
  canBind: boolean,
): string | null {
  const allow = allowed ? new Set(allowed.map((m) => m.toUpperCase())) : null;
  for (const m of AUTH_PREFERENCE) {
    if (!offered.has(m) || (allow && !allow.has(m))) continue;
    if (m.endsWith('-PLUS') && !canBind) continue;
    // Never a cleartext password without TLS.
    if (m === 'PLAIN' && !tls) continue;
    return m;
  }
  return null;
}

export type AuthOptions = { username: string; password: string; mechanisms?: string[] };

/** Authenticates; returns the mechanism used. Throws SmtpClientError (stage 'auth'). */
export async function authenticate(
  conn: Conn,
  authExt: string | undefined,
  tlsSock: TLSSocket | null,
  opts: AuthOptions,
  ms: number,
): Promise<string> {
  if (authExt === undefined) {
    throw new SmtpClientError('auth', 'server does not offer AUTH', { permanent: true });
  }
  const offered = new Set(
    authExt
      .toUpperCase()
      .split(' ')
      .filter((m) => m !== ''),
  );
  const cb = channelBinding(tlsSock);
  const mech = chooseMechanism(offered, opts.mechanisms, tlsSock !== null, cb !== null);
  if (mech === null) {
    const list = [...offered].join(' ') || 'none';
    throw new SmtpClientError('auth', `no usable mechanism (server offers ${list})`, {
      permanent: true,
    });
  }
  // RFC 5802 §6: "y" (can bind, server seems unable) only when no -PLUS is offered.
  const plus = mech.endsWith('-PLUS');
  const serverBinds = [...offered].some((m) => m.endsWith('-PLUS'));
  const sasl = createSaslClient(mech, {
    username: opts.username,
    password: opts.password,
    channelBinding: plus || !serverBinds ? cb : null,
  });
  const ir = sasl.start();
  // RFC 4954 §4: "=" is an empty initial response.
  const irText = ir === null ? '' : ` ${ir.length === 0 ? '=' : ir.toString('base64')}`;
  conn.sendSecret(`AUTH ${mech}${irText}`, `AUTH ${mech}${ir === null ? '' : ' ***'}`);
  for (let step = 0; ; step++) {
    const r = await conn.readReply('auth', ms, `reply to AUTH ${mech}`);
    if (r.code === 235) {
      if (!sasl.done) {
        conn.destroy();
        throw new SmtpClientError('auth', `server ended ${mech} before proving itself`, {
          code: r.code,
          secode: r.secode,
          remoteText: r.text,
        });
      }
      return mech;
    }
    if (r.code !== 334) throw SmtpClientError.fromReply('auth', `AUTH ${mech} failed`, r);
    if (step >= MAX_STEPS) {
      conn.destroy();
      throw new SmtpClientError('auth', `too many ${mech} challenges`);
    }
    let resp: Buffer;
    try {
      resp = sasl.step(Buffer.from((r.lines[0] ?? '').trim(), 'base64'));
    } catch (e) {
      if (!(e instanceof SaslClientError)) throw e;
      await cancel(conn, ms);
      throw new SmtpClientError('auth', `${mech}: ${e.message}`, { permanent: true, cause: e });
    }
    conn.sendSecret(resp.toString('base64'), '***');
  }
}

/** RFC 4954 §4: "*" cancels the exchange; the server answers 501. */
async function cancel(conn: Conn, ms: number): Promise<void> {
  conn.send(['*']);
  await conn.readReply('auth', ms, 'reply to AUTH cancellation');
}
