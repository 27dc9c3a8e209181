// The EHLO reply: server name and service extensions (RFC 5321 §4.1.1.1, §2.2.2).

// RFC 5321 §4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param )
const EHLO_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*)(?: +(.*))?$/;

/**
 * Extensions from the lines after the first: upper-case keyword to its parameters ('' if
 * none). Lines that are not ehlo-lines (such as the old "AUTH=LOGIN") are skipped; the
 * first occurrence of a keyword wins.
 */
export function parseExtensions(lines: readonly string[]): Map<string, string> {
  const ext = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const m = EHLO_LINE.exec(line.trim());
    if (!m) continue;
    const key = (m[1] as string).toUpperCase();
    if (!ext.has(key)) ext.set(key, (m[2] ?? '').trim());
  }
  return ext;
}

/** The first word of a greeting or EHLO reply line: the server's name. */
export function firstWord(line: string | undefined): string {
  return (line ?? '').trim().split(' ')[0] ?? '';
}
