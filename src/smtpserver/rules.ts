// Destination rules (domains.toml `rules` of a destination): which one an incoming
// message matches. Conditions are regular expressions on MAIL FROM, the From address and
// header fields, and a domain the message is verified for (a passing DKIM signature or
// SPF for MAIL FROM, the domain or a subdomain of it); all conditions given must hold,
// and the first rule that matches applies.
import type { DestinationRule } from '../config/index.js';
import type { HeaderField } from '../message/index.js';

export type RuleInput = {
  /** MAIL FROM, "" for the null path. */
  mailFrom: string;
  /** The From address, "" when there is none. */
  msgFrom: string;
  /** Domains with a passing DKIM signature, and the SPF-verified MAIL FROM domain. */
  verifiedDomains: readonly string[];
  fields: readonly HeaderField[];
};

export type MatchedRule = { index: number; rule: DestinationRule };

const compiled = new Map<string, RegExp>();

function re(source: string): RegExp {
  let r = compiled.get(source);
  if (!r) {
    r = new RegExp(source, 'i');
    if (compiled.size > 1000) compiled.clear();
    compiled.set(source, r);
  }
  return r;
}

/** Whether `domain` is `d` or a subdomain of it. */
export function withinDomain(domain: string, d: string): boolean {
  const x = domain.toLowerCase();
  return x === d || x.endsWith(`.${d}`);
}

function matches(rule: DestinationRule, m: RuleInput): boolean {
  if (rule.smtp_mail_from !== undefined && !re(rule.smtp_mail_from).test(m.mailFrom)) {
    return false;
  }
  if (rule.msg_from !== undefined && !re(rule.msg_from).test(m.msgFrom)) return false;
  const vd = rule.verified_domain;
  if (vd !== undefined && !m.verifiedDomains.some((d) => withinDomain(d, vd))) return false;
  for (const [name, pattern] of Object.entries(rule.headers ?? {})) {
    const n = name.toLowerCase();
    const r = re(pattern);
    if (!m.fields.some((f) => f.name.toLowerCase() === n && r.test(f.value))) return false;
  }
  return true;
}

export function matchRule(rules: readonly DestinationRule[], m: RuleInput): MatchedRule | null {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (matches(rule, m)) return { index: i, rule };
  }
  return null;
}

/** How a rule is named in X-Tidings-Reason: its position, and its comment if any. */
export function ruleName(r: MatchedRule): string {
  return `rule ${r.index + 1}${r.rule.comment ? ` (${r.rule.comment})` : ''}`;
}
