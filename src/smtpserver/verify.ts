// Verification of a message received on port 25: iprev, SPF, DKIM with ARC, then DMARC
// on their results. The lookups run concurrently, each bounded by a timeout that turns
// into a temperror, so a DNS server that never answers delays one message, not the
// server. The results become the Authentication-Results and Received-SPF headers, with
// iprev and SPF saying "with dnssec" or "without dnssec" where the resolver can tell.
import { createReadStream } from 'node:fs';
import {
  authResultsHeader,
  dnssecComment,
  joinComments,
  receivedSpfHeader,
  dmarcWithout,
  verifyDmarc,
  verifyIprev,
  verifySignatures,
  verifySpf,
  type ArcVerification,
  type AuthMethod,
  type DkimVerification,
  type DmarcResult,
  type IprevResult,
  type SpfResult,
} from '../msgauth/index.js';
import { formatLocalpart } from '../smtp/index.js';
import type { PreparedMessage } from '../store/index.js';
import type { SmtpConn, Transaction } from './conn.js';
import type { MessageInfo } from './msginfo.js';
import { smtpMetrics } from './metrics.js';

/** Without a configured timeout, each verification gets a minute (as DNS lookups do). */
export const DEFAULT_VERIFY_TIMEOUT = 60_000;

export type Verification = {
  iprev: IprevResult;
  spf: SpfResult;
  dkim: DkimVerification[];
  arc: ArcVerification;
  dmarc: DmarcResult;
};

class TimedOut extends Error {}

/** Without these fields there is nothing for DKIM or ARC to verify: the file is not read. */
const SIGNATURE_FIELDS = new Set(['dkim-signature', 'arc-seal', 'arc-message-signature']);

const UNSIGNED: { dkim: DkimVerification[]; arc: ArcVerification } = {
  dkim: [
    {
      domain: '',
      selector: '',
      result: 'none',
      info: 'dkim=none (message not signed)',
      comment: 'message not signed',
    },
  ],
  arc: { result: 'none', instance: 0, sealer: '', comment: '' },
};

/** `p`, or a rejection after `ms` (its result is then ignored). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`${what} timed out`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export async function verifyIncoming(
  c: SmtpConn,
  tx: Transaction,
  msg: PreparedMessage,
  info: MessageInfo,
  /** The message's bytes when already in memory; otherwise the file is streamed. */
  data: Buffer | null = null,
): Promise<Verification> {
  const resolver = c.ctx.resolver;
  const ms = c.ctx.verification?.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT;
  // The address as on the wire: a local-part that needs quotes keeps them (RFC 5321 §4.1.2),
  // so SPF's <sender>, smtp.mailfrom and envelope-from name the real address.
  const mailFrom =
    tx.mailFrom && tx.mailFrom.domain
      ? `${formatLocalpart(tx.mailFrom.localpart)}@${tx.mailFrom.domain.ascii}`
      : '';
  const helo = c.hello?.domain?.ascii ?? (c.hello ? `[${c.remoteIP}]` : '');
  const failed = (what: string) => (e: unknown) => {
    c.log.info({ err: (e as Error).message }, `${what} verification failed`);
  };
  const iprevP = within(verifyIprev(c.remoteIP, resolver), ms, 'iprev').catch((e): IprevResult => {
    failed('iprev')(e);
    return { status: 'temperror', names: [], dnssec: 'unknown' };
  });
  const spfP = within(
    verifySpf({ ip: c.remoteIP, mailFrom, helo, receiver: c.ctx.hostname }, resolver),
    ms,
    'spf',
  ).catch((e): SpfResult => {
    failed('spf')(e);
    return {
      status: 'temperror',
      identity: mailFrom ? 'mailfrom' : 'helo',
      domain: mailFrom ? mailFrom.slice(mailFrom.lastIndexOf('@') + 1) : helo,
      sender: mailFrom,
      comment: (e as Error).message,
      explanation: '',
      dnssec: 'unknown',
    };
  });
  const now = c.ctx.verification?.now?.();
  const signed = info.fields.some((f) => SIGNATURE_FIELDS.has(f.name.toLowerCase()));
  const sigP = !signed
    ? Promise.resolve(UNSIGNED)
    : within(
        verifySignatures(data ?? createReadStream(msg.path), resolver, now ? { now } : {}),
        ms,
        'dkim',
      ).catch((e) => {
        failed('dkim')(e);
        const dkim: DkimVerification[] = [
          {
            domain: '',
            selector: '',
            result: 'temperror',
            info: '',
            comment: (e as Error).message,
          },
        ];
        const arc: ArcVerification = { result: 'none', instance: 0, sealer: '', comment: '' };
        return { dkim, arc };
      });
  const [iprev, spf, sig] = await Promise.all([iprevP, spfP, sigP]);
  const spfPassDomain = spf.status === 'pass' ? spf.domain : null;
  const dkimPassDomains = sig.dkim.filter((d) => d.result === 'pass').map((d) => d.domain);
  const fromDomain = info.from?.domain ?? '';
  const dmarc = await within(
    verifyDmarc(
      {
        fromDomain,
        spfPassDomain,
        dkimPassDomains,
        ...(c.ctx.verification?.sample ? { sample: c.ctx.verification.sample() } : {}),
      },
      resolver,
    ),
    ms,
    'dmarc',
  ).catch((e): DmarcResult => {
    failed('dmarc')(e);
    return dmarcWithout('temperror', fromDomain);
  });
  const v = { iprev, spf, dkim: sig.dkim, arc: sig.arc, dmarc: fromDomain ? dmarc : noFrom(dmarc) };
  smtpMetrics.verification.inc({ method: 'iprev', result: iprev.status });
  smtpMetrics.verification.inc({ method: 'spf', result: spf.status });
  for (const d of sig.dkim) smtpMetrics.verification.inc({ method: 'dkim', result: d.result });
  smtpMetrics.verification.inc({ method: 'arc', result: sig.arc.result });
  smtpMetrics.verification.inc({ method: 'dmarc', result: v.dmarc.status });
  return v;
}

/** Domains the message is verified for: passing DKIM signatures, SPF for MAIL FROM. */
export function verifiedDomains(v: Verification): string[] {
  const out = v.dkim.filter((d) => d.result === 'pass').map((d) => d.domain.toLowerCase());
  if (v.spf.status === 'pass' && v.spf.identity === 'mailfrom') out.push(v.spf.domain);
  return out;
}

/** Without a From domain there is nothing DMARC can evaluate. */
function noFrom(d: DmarcResult): DmarcResult {
  return { ...d, status: 'none', record: null, policy: 'none', published: 'none' };
}

/** The override of a DMARC policy for one recipient, with its reason (RFC 7489 §7.2.1.1). */
export type DmarcOverride = { type: 'trusted_forwarder' | 'local_policy'; comment: string } | null;

/**
 * The methods of Authentication-Results, in the order RFC 8601 §2.7 lists them:
 * iprev, spf, dkim (one per signature), dmarc (with the recipient's override), arc.
 */
export function authMethods(v: Verification, ip: string, override: DmarcOverride): AuthMethod[] {
  const methods: AuthMethod[] = [];
  const iprevName = v.iprev.names[0];
  methods.push({
    method: 'iprev',
    result: v.iprev.status,
    comment: joinComments(
      iprevName && v.iprev.status === 'pass' ? iprevName : '',
      dnssecComment(v.iprev.dnssec),
    ),
    props: [['policy.iprev', ip]],
  });
  methods.push({
    method: 'spf',
    result: v.spf.status,
    comment: dnssecComment(v.spf.dnssec),
    props:
      v.spf.identity === 'mailfrom'
        ? [['smtp.mailfrom', v.spf.sender]]
        : v.spf.domain
          ? [['smtp.helo', v.spf.domain]]
          : [],
  });
  for (const d of v.dkim) {
    if (d.domain === '' && d.result !== 'temperror') {
      methods.push({ method: 'dkim', result: 'none', comment: 'no dkim signatures' });
      continue;
    }
    const props: [string, string][] = [];
    if (d.domain) props.push(['header.d', d.domain]);
    if (d.selector) props.push(['header.s', d.selector]);
    if (d.algorithm) props.push(['header.a', d.algorithm]);
    if (d.bPrefix) props.push(['header.b', d.bPrefix]);
    methods.push({
      method: 'dkim',
      result: d.result,
      comment: joinComments(d.comment ?? '', dnssecComment(d.dnssec ?? 'unknown')),
      props,
    });
  }
  if (v.dmarc.domain) {
    const comment: string[] = [];
    if (v.dmarc.record) comment.push(`p=${v.dmarc.published}`);
    if (v.dmarc.sampledOut) comment.push('sampled_out');
    if (override) comment.push(`override ${override.type}: ${override.comment}`);
    methods.push({
      method: 'dmarc',
      result: v.dmarc.status,
      comment: comment.join(', '),
      props: [['header.from', v.dmarc.domain]],
    });
  } else {
    methods.push({ method: 'dmarc', result: 'none', comment: 'no from address' });
  }
  if (v.arc.result !== 'none' || v.arc.instance > 0) {
    methods.push({
      method: 'arc',
      result: v.arc.result,
      comment:
        v.arc.result === 'pass' ? `i=${v.arc.instance} sealer ${v.arc.sealer}` : v.arc.comment,
      props: [['smtp.remote-ip', ip]],
    });
  }
  return methods;
}

/** Authentication-Results and Received-SPF for one delivered copy. */
export function verificationHeaders(c: SmtpConn, v: Verification, override: DmarcOverride): string {
  return (
    authResultsHeader(c.ctx.hostname, authMethods(v, c.remoteIP, override)) +
    receivedSpfHeader({
      status: v.spf.status,
      comment: joinComments(v.spf.comment, dnssecComment(v.spf.dnssec)),
      ip: c.remoteIP,
      envelopeFrom: v.spf.identity === 'mailfrom' ? v.spf.sender : '',
      helo: c.hello?.domain?.ascii ?? '',
      identity: v.spf.identity,
      receiver: c.ctx.hostname,
    })
  );
}
