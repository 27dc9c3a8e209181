// One delivery attempt for a group of queued messages: suppressed recipients fail at
// once, local recipients (and every recipient under localserve) go into their accounts,
// and the rest go to the remote deliverer in one call. The attempt only collects
// outcomes; settle() decides what they mean.
import type { DomainsConfig } from '../config/domains.js';
import { resolveAddress } from '../config/resolve.js';
import { localserveEffect } from '../smtp/index.js';
import type { Attempt, Attempted, QueueContext } from './context.js';
import type { Stored } from './db.js';
import type { LocalTarget } from './local.js';
import type { DeliveryOutcome, QueueMessage } from './types.js';

const NO_REMOTE: DeliveryOutcome = {
  ok: false,
  permanent: false,
  code: 0,
  secode: '',
  error: 'no remote delivery configured',
  host: '',
};

function suppressedOutcome(reason: string): DeliveryOutcome {
  return {
    ok: false,
    permanent: true,
    code: 0,
    secode: '5.1.0',
    error: `recipient is on the suppression list (${reason})`,
    host: '',
  };
}

function temporaryError(e: unknown): DeliveryOutcome {
  return {
    ok: false,
    permanent: false,
    code: 0,
    secode: '',
    error: e instanceof Error ? e.message : String(e),
    host: '',
  };
}

/** Attempts delivery of every message of the group once. */
export async function attempt(ctx: QueueContext, group: Stored[]): Promise<Attempted> {
  const start = ctx.clock();
  const cfg = ctx.opts.domains();
  const attempts: Attempt[] = [];
  const remote: Stored[] = [];
  for (const s of group) {
    const sup = s.m.account !== '' ? ctx.rules.suppressed(s.m.account, s.m.recipient) : null;
    if (sup) {
      attempts.push({ s, outcome: suppressedOutcome(sup.reason), local: false });
      continue;
    }
    const target = await localTarget(ctx, cfg, s.m);
    if (target === null) {
      remote.push(s);
      continue;
    }
    if ('ok' in target) {
      attempts.push({ s, outcome: target, local: true });
      continue;
    }
    const explicit = ctx.db.fileRecipients(s.m.fileId);
    const outcome = await ctx.local
      .deliver(s.m, target, cfg, explicit)
      .catch((e: unknown) => temporaryError(e));
    attempts.push({ s, outcome, local: true });
  }
  if (remote.length > 0) {
    const outcomes = await deliverRemote(
      ctx,
      remote.map((s) => s.m),
    );
    remote.forEach((s, i) =>
      attempts.push({ s, outcome: outcomes[i] as DeliveryOutcome, local: false }),
    );
  }
  return { start, attempts };
}

/**
 * Where a message is delivered locally: an account or alias (or an unknown user of a
 * local domain), an outcome already decided (localserve's simulated failures), or null
 * when it goes to the remote deliverer.
 */
async function localTarget(
  ctx: QueueContext,
  cfg: DomainsConfig,
  m: QueueMessage,
): Promise<LocalTarget | DeliveryOutcome | null> {
  const ls = ctx.opts.localserve;
  if (ls) return localserveTarget(cfg, m, ls.account);
  if (!ctx.localDelivery) return null;
  const r = resolveAddress(cfg, m.recipient);
  return r.kind === 'unknown-domain' ? null : r;
}

/** localserve: the simulated outcome a recipient asks for, or its delivery target. */
async function localserveTarget(
  cfg: DomainsConfig,
  m: QueueMessage,
  account: string,
): Promise<LocalTarget | DeliveryOutcome> {
  const eff = localserveEffect(m.recipient.localpart, 'queue');
  if (eff?.timeout) {
    await new Promise((r) => setTimeout(r, 60_000).unref());
    return temporaryError('simulated timeout due to special localpart');
  }
  if (eff) {
    return {
      ok: false,
      permanent: eff.code >= 500,
      code: eff.code,
      secode: `${Math.floor(eff.code / 100)}.0.0`,
      error: `simulated failure with code ${eff.code} due to special localpart`,
      host: 'localhost',
    };
  }
  const r = resolveAddress(cfg, m.recipient);
  if (r.kind === 'account' || r.kind === 'alias') return r;
  const dests = cfg.accounts[account]?.destinations ?? {};
  const destinationAddress = Object.keys(dests)[0] ?? '';
  return {
    kind: 'account',
    account,
    destination: dests[destinationAddress] ?? { mailbox: 'Inbox', rules: [] },
    destinationAddress,
    canonical: destinationAddress,
  };
}

/** One call to the remote deliverer; every message gets an outcome, whatever happens. */
async function deliverRemote(ctx: QueueContext, msgs: QueueMessage[]): Promise<DeliveryOutcome[]> {
  const remote = ctx.opts.remote;
  const first = msgs[0];
  if (!remote || !first) return msgs.map(() => NO_REMOTE);
  try {
    const res = await remote.deliver(msgs, () => ctx.files.stream(first.fileId, first.prefix));
    return msgs.map((_, i) => res[i] ?? temporaryError('no result from remote delivery'));
  } catch (e) {
    ctx.log.warn({ err: e }, 'remote delivery failed');
    return msgs.map(() => temporaryError(e));
  }
}
