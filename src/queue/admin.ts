// Administration of the queue as named operations with JSON arguments and results: the
// running server answers them on its control socket, and the CLI runs them directly
// when no server is running. Every argument is checked; errors are QueueError('invalid').
import { QueueError } from './errors.js';
import { parseAddressArg, type HoldRule, type Suppression } from './rules.js';
import type { Queue } from './queue.js';
import type { AttemptResult, QueueMessage } from './types.js';
import { formatAddress, formatPath } from './address.js';

/** A queue row as JSON. */
export type MessageView = {
  id: number;
  account: string;
  from: string;
  to: string;
  queued: string;
  nextAttempt: string;
  lastAttempt: string | null;
  attempts: number;
  hold: boolean;
  size: number;
  messageId: string;
  subject: string;
  requireTLS: boolean | null;
  lastError: string;
  futureRelease: string;
  results: AttemptResult[];
};

export type Filter = {
  ids?: number[];
  account?: string;
  toDomain?: string;
  hold?: boolean;
  /** Explicitly every message, for operations that change messages. */
  all?: boolean;
};

type Args = Record<string, unknown>;

function view(m: QueueMessage): MessageView {
  return {
    id: m.id,
    account: m.account,
    from: formatPath(m.sender),
    to: formatAddress(m.recipient),
    queued: m.queued.toISOString(),
    nextAttempt: m.nextAttempt.toISOString(),
    lastAttempt: m.lastAttempt?.toISOString() ?? null,
    attempts: m.attempts,
    hold: m.hold ?? false,
    size: m.size,
    messageId: m.messageId,
    subject: m.subject,
    requireTLS: m.requireTLS,
    lastError: m.lastError,
    futureRelease: m.futureReleaseRequest ?? '',
    results: m.results,
  };
}

function invalid(msg: string): QueueError {
  return new QueueError('invalid', msg);
}

function str(a: Args, key: string, required: true): string;
function str(a: Args, key: string, required?: false): string | undefined;
function str(a: Args, key: string, required = false): string | undefined {
  const v = a[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw invalid(`${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${key} must be text`);
  return v;
}

function filterOf(a: Args): Filter {
  const f: Filter = {};
  if (a.ids !== undefined) {
    if (!Array.isArray(a.ids) || !a.ids.every((x) => Number.isSafeInteger(x) && x > 0)) {
      throw invalid('ids must be positive whole numbers');
    }
    f.ids = a.ids as number[];
  }
  const account = str(a, 'account');
  if (account !== undefined) f.account = account;
  const toDomain = str(a, 'toDomain');
  if (toDomain !== undefined) f.toDomain = toDomain.toLowerCase();
  if (a.hold !== undefined) f.hold = a.hold === true;
  if (a.all === true) f.all = true;
  return f;
}

/** Messages a filter selects. Changing operations need ids, a filter, or `all`. */
function select(q: Queue, f: Filter, changing: boolean): QueueMessage[] {
  const narrowed =
    f.ids !== undefined ||
    f.account !== undefined ||
    f.toDomain !== undefined ||
    f.hold !== undefined;
  if (changing && !narrowed && !f.all) {
    throw invalid('name message ids or a filter (account, recipient domain, held), or ask for all');
  }
  const base = q.list({
    ...(f.ids !== undefined ? { ids: f.ids } : {}),
    ...(f.account !== undefined ? { account: f.account } : {}),
    ...(f.hold !== undefined ? { hold: f.hold } : {}),
  });
  return f.toDomain === undefined
    ? base
    : base.filter((m) => m.recipient.domain.toLowerCase() === f.toDomain);
}

function when(a: Args): Date {
  const v = str(a, 'at', true);
  if (v === 'now') return new Date();
  const rel = /^\+(\d+)([smhd])$/.exec(v);
  if (rel) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's'];
    return new Date(Date.now() + Number(rel[1]) * unit);
  }
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw invalid(`not a time: ${JSON.stringify(v)} (use now, +30m, +2h or an ISO date)`);
  return new Date(t);
}

const ids = (ms: QueueMessage[]): number[] => ms.map((m) => m.id);

/** Runs one administrative operation; the result is JSON-serialisable. */
export async function queueAdmin(q: Queue, op: string, a: Args): Promise<unknown> {
  switch (op) {
    case 'queue.list':
      return select(q, filterOf(a), false).map(view);
    case 'queue.show': {
      const id = a.id;
      if (!Number.isSafeInteger(id)) throw invalid('id must be a whole number');
      const m = q.get(id as number);
      if (!m) throw new QueueError('notfound', `no message ${String(id)} in the queue`);
      return { ...view(m), header: (await q.readHeader(m)).toString('utf8') };
    }
    case 'queue.hold':
      return { count: q.hold(ids(select(q, filterOf(a), true))) };
    case 'queue.release':
      return { count: q.release(ids(select(q, filterOf(a), true))) };
    case 'queue.schedule':
      return { count: q.reschedule(ids(select(q, filterOf(a), true)), when(a)) };
    case 'queue.fail':
      return { count: await q.fail(ids(select(q, filterOf(a), true))) };
    case 'queue.drop':
      return { count: await q.drop(ids(select(q, filterOf(a), true))) };
    case 'holdrule.list':
      return q.rules.listHoldRules().map(holdRuleView);
    case 'holdrule.add': {
      const rule = {
        account: str(a, 'account') ?? '',
        senderDomain: str(a, 'senderDomain') ?? '',
        recipientDomain: str(a, 'recipientDomain') ?? '',
      };
      return holdRuleView(q.rules.addHoldRule(rule, Date.now()));
    }
    case 'holdrule.remove': {
      if (!Number.isSafeInteger(a.id)) throw invalid('id must be a whole number');
      if (!q.rules.removeHoldRule(a.id as number)) {
        throw new QueueError('notfound', `no hold rule ${String(a.id)}`);
      }
      return { removed: a.id };
    }
    case 'suppression.list':
      return q.rules.suppressions(str(a, 'account')).map(suppressionView);
    case 'suppression.add': {
      const account = str(a, 'account', true);
      const addr = parseAddressArg(str(a, 'address', true));
      const added = q.rules.suppress(
        account,
        addr,
        str(a, 'reason') ?? 'added by administrator',
        true,
        Date.now(),
      );
      return { added };
    }
    case 'suppression.remove': {
      const account = str(a, 'account', true);
      const addr = parseAddressArg(str(a, 'address', true));
      if (!q.rules.unsuppress(account, addr)) {
        throw new QueueError(
          'notfound',
          `${formatAddress(addr)} is not on the suppression list of ${account}`,
        );
      }
      return { removed: true };
    }
    default:
      throw invalid(`unknown operation ${JSON.stringify(op)}`);
  }
}

function holdRuleView(h: HoldRule) {
  return { ...h, created: h.created.toISOString() };
}

function suppressionView(s: Suppression) {
  return { ...s, created: s.created.toISOString() };
}
