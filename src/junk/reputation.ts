// The reputation verdict for an incoming message, from the evidence of the account's
// own mail (store/reputation.ts): the most specific source that is conclusive decides,
// from "the user wrote to this address" down to the sender's wider network. A verdict
// of null leaves the decision to the content filter and blocklists.
import type { Evidence, SenderEvidence } from '../store/index.js';

/** Messages looked at per source. */
export const RECENT_PER_SOURCE = 10;

export type ReputationVerdict = {
  junk: boolean;
  /** Machine-readable reason, e.g. "reputation-from" (X-Tidings-Reason). */
  reason: string;
  /** What decided, for the logs and the reason header. */
  text: string;
} | null;

/**
 * When a source is conclusive: at least `min` messages the user treated one way or the
 * other, and at least `ratio` of them the same way. Broader sources need more, since
 * more senders share them.
 */
const RULES: { source: SourceName; label: string; min: number; ratio: number }[] = [
  { source: 'from', label: 'from address', min: 1, ratio: 0.5 },
  { source: 'dkim', label: 'dkim domain', min: 2, ratio: 0.8 },
  { source: 'mailFrom', label: 'spf-verified mail from domain', min: 2, ratio: 0.8 },
  { source: 'orgDomain', label: 'from organisation', min: 3, ratio: 0.8 },
  { source: 'ip1', label: 'ip address', min: 2, ratio: 0.8 },
  { source: 'ip2', label: 'ip network', min: 3, ratio: 0.9 },
  { source: 'ip3', label: 'wider ip network', min: 5, ratio: 0.9 },
];

type SourceName = 'from' | 'dkim' | 'mailFrom' | 'orgDomain' | 'ip1' | 'ip2' | 'ip3';

function evidenceOf(e: SenderEvidence, s: SourceName): Evidence | null {
  switch (s) {
    case 'ip1':
      return e.ip[0];
    case 'ip2':
      return e.ip[1];
    case 'ip3':
      return e.ip[2];
    default:
      return e[s];
  }
}

/** Junk first: with as many junk as wanted messages, the junk ones win. */
function conclude(e: Evidence, min: number, ratio: number): boolean | null {
  const total = e.ham + e.spam;
  if (total < min) return null;
  if (e.spam / total >= ratio) return true;
  if (e.ham / total >= ratio) return false;
  return null;
}

/** Whether one source's evidence decides (for EvidenceQuery.decides: the rest is skipped). */
export function sourceDecides(source: SourceName, e: Evidence): boolean {
  const r = RULES.find((x) => x.source === source);
  return r !== undefined && conclude(e, r.min, r.ratio) !== null;
}

export function reputationVerdict(e: SenderEvidence): ReputationVerdict {
  if (e.sentTo) {
    return { junk: false, reason: 'reputation-sent-to', text: 'you wrote to this address' };
  }
  for (const r of RULES) {
    const ev = evidenceOf(e, r.source);
    if (!ev) continue;
    const junk = conclude(ev, r.min, r.ratio);
    if (junk === null) continue;
    return {
      junk,
      reason: `reputation-${r.source.toLowerCase()}`,
      text: `${r.label}: ${ev.ham} wanted, ${ev.spam} junk of recent messages`,
    };
  }
  return null;
}
