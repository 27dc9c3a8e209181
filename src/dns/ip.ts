// IP address helpers: canonical forms, wire bytes and reverse-lookup names (RFC 1035 §3.5,
// RFC 3596 §2.5).
import { SocketAddress, isIPv4, isIPv6 } from 'node:net';

/** The canonical text of an IP address (RFC 5952 for IPv6), or undefined if not an IP. */
export function canonicalIP(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) return new SocketAddress({ address: ip, family: 'ipv6' }).address;
  return undefined;
}

/** The 4 bytes of a valid IPv4 address. */
export function ipv4Bytes(ip: string): Uint8Array {
  return Uint8Array.from(ip.split('.'), (p) => Number(p));
}

/** The 16 bytes of a valid IPv6 address (may end in dotted IPv4). */
export function ipv6Bytes(ip: string): Uint8Array {
  let head = ip;
  const tail: number[] = [];
  if (ip.includes('.')) {
    const cut = ip.lastIndexOf(':');
    const v4 = ipv4Bytes(ip.slice(cut + 1));
    tail.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    head = ip.endsWith('::', cut + 1) ? ip.slice(0, cut + 1) : ip.slice(0, cut);
  }
  const groups = expandGroups(head, 8 - tail.length).concat(tail);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

// Hex groups of an IPv6 text without dotted tail, "::" expanded to reach `count` groups.
function expandGroups(text: string, count: number): number[] {
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(count - head.length - rest.length).fill(0), ...rest];
}

/** The canonical IPv6 text of 16 bytes. */
export function ipv6FromBytes(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** The in-addr.arpa or ip6.arpa name of an IP address, or undefined if not an IP. */
export function reverseName(ip: string): string | undefined {
  if (isIPv4(ip)) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  if (!isIPv6(ip)) return undefined;
  const nibbles: string[] = [];
  for (const byte of ipv6Bytes(ip))
    nibbles.push((byte >> 4).toString(16), (byte & 15).toString(16));
  return nibbles.reverse().join('.') + '.ip6.arpa';
}

/** The IP address named by a full in-addr.arpa or ip6.arpa name (lower-case), if any. */
export function ipFromReverseName(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const labels = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.length !== 4 || !labels.every((l) => /^(0|[1-9]\d{0,2})$/.test(l))) return undefined;
    const ip = labels.reverse().join('.');
    return isIPv4(ip) ? ip : undefined;
  }
  if (name.endsWith('.ip6.arpa')) {
    const labels = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    const hex = labels.reverse().join('');
    const bytes = Uint8Array.from({ length: 16 }, (_, i) =>
      parseInt(hex.slice(i * 2, i * 2 + 2), 16),
    );
    return ipv6FromBytes(bytes);
  }
  return undefined;
}
