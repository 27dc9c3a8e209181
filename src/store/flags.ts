// Message flags: the system flags and well-known keywords are bits in one integer;
// other keywords are a sorted list. IMAP keywords compare case-insensitively
// (RFC 9051 §2.3.2), so lists are deduplicated on the lower-case form.

export const SYSTEM_FLAGS = [
  '\\Seen',
  '\\Answered',
  '\\Flagged',
  '\\Deleted',
  '\\Draft',
  '$Forwarded',
  '$Junk',
  '$NotJunk',
  '$Phishing',
  '$MDNSent',
] as const;

export const Flag = {
  Seen: 1 << 0,
  Answered: 1 << 1,
  Flagged: 1 << 2,
  Deleted: 1 << 3,
  Draft: 1 << 4,
  Forwarded: 1 << 5,
  Junk: 1 << 6,
  NotJunk: 1 << 7,
  Phishing: 1 << 8,
  MDNSent: 1 << 9,
} as const;

export const ALL_FLAG_BITS = (1 << SYSTEM_FLAGS.length) - 1;

const bitByName = new Map<string, number>(SYSTEM_FLAGS.map((f, i) => [f.toLowerCase(), 1 << i]));

/** Bit for a system flag or well-known keyword (case-insensitive), or 0. */
export function flagBit(name: string): number {
  return bitByName.get(name.toLowerCase()) ?? 0;
}

export function flagNames(bits: number): string[] {
  const out: string[] = [];
  SYSTEM_FLAGS.forEach((f, i) => {
    if (bits & (1 << i)) out.push(f);
  });
  return out;
}

/** Splits flag names into the bit set and the remaining keywords. */
export function splitFlags(names: Iterable<string>): { bits: number; keywords: string[] } {
  let bits = 0;
  const kw: string[] = [];
  for (const n of names) {
    const b = flagBit(n);
    if (b) bits |= b;
    else kw.push(n);
  }
  return { bits, keywords: normalizeKeywords(kw) };
}

export function normalizeKeywords(kw: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  for (const k of kw) {
    const l = k.toLowerCase();
    if (!seen.has(l)) seen.set(l, k);
  }
  return [...seen.values()].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
}

export function addKeywords(a: string[], b: string[]): string[] {
  return normalizeKeywords([...a, ...b]);
}

export function removeKeywords(a: string[], b: string[]): string[] {
  const drop = new Set(b.map((k) => k.toLowerCase()));
  return a.filter((k) => !drop.has(k.toLowerCase()));
}

export function sameKeywords(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k.toLowerCase() === b[i]?.toLowerCase());
}

export const SPECIAL_USE = ['\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash'] as const;
export type SpecialUse = (typeof SPECIAL_USE)[number];

export function parseSpecialUse(s: string): SpecialUse | null {
  return SPECIAL_USE.find((u) => u.toLowerCase() === s.toLowerCase()) ?? null;
}
