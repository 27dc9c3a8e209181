// Submitting a TLS report over HTTPS (RFC 8460 §5.3.2): a POST of the gzipped report to
// an "https:" reporting URI of the recipient domain's TLSRPT record. The URI comes from
// DNS, so anyone can point it anywhere: the certificate is verified for its host name,
// redirects are not followed, the request is bounded in time, and addresses inside this
// network (loopback, private, link-local, shared, multicast and reserved ranges) are
// refused, so that a record cannot make the server post into the network it runs in.
import { lookup as systemLookup } from 'node:dns';
import { request } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Resolver } from '../dns/index.js';
import { resolverLookup } from '../msgauth/index.js';

/** POSTs `body` to `url`; resolves on a 2xx answer, rejects with the reason otherwise. */
export type ReportPost = (url: string, body: Buffer, contentType: string) => Promise<void>;

export interface HttpsPostOptions {
  /** Addresses of the report host; default the system resolver. */
  resolver?: Resolver;
  /** Trusted CA certificates instead of the system's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Test seam: where to connect for a URL's host name instead of its addresses on its
   * port (the certificate is still verified for the host name).
   */
  connectTo?: (host: string, port: number) => { host: string; port: number };
  /** Whole request; default 60 s. */
  timeoutMs?: number;
}

const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv6');
}

const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/** Whether an address is one a report must not be posted to (see above). */
export function isInternalAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return true;
  // An IPv4-mapped address is checked as the IPv4 address it is (the list holds no
  // ::ffff:0:0/96, which the list would apply to every IPv4 address).
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return INTERNAL.check(v4[1]!, 'ipv4');
  // Written in hexadecimal ("::ffff:7f00:1"): refused rather than decoded.
  if (family === 6 && MAPPED.check(ip, 'ipv6')) return true;
  return INTERNAL.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** A lookup that leaves out internal addresses, and fails when none is left. */
function publicOnly(inner: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    inner(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = (Array.isArray(addresses) ? addresses : []).filter(
        (a) => !isInternalAddress(a.address),
      );
      const first = list[0];
      if (!first) {
        const e: NodeJS.ErrnoException = new Error(`${hostname} has only internal addresses`);
        e.code = 'EADDRNOTAVAIL';
        return callback(e, '', 0);
      }
      if (options.all) callback(null, list);
      else callback(null, first.address, first.family);
    });
  };
}

export function httpsPost(opts: HttpsPostOptions = {}): ReportPost {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const lookup = publicOnly(
    opts.resolver ? resolverLookup(opts.resolver) : (systemLookup as LookupFunction),
  );
  return (url, body, contentType) =>
    new Promise<void>((resolve, reject) => {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        reject(new Error(`${url}: not a URL`));
        return;
      }
      if (u.protocol !== 'https:') {
        reject(new Error(`${url}: not an https URL`));
        return;
      }
      if (u.username || u.password) {
        reject(new Error(`${url}: credentials in the URL`));
        return;
      }
      const port = u.port ? Number(u.port) : 443;
      const host = u.hostname.replace(/^\[|\]$/g, '');
      const target = opts.connectTo?.(host, port);
      if (!target && isIP(host) && isInternalAddress(host)) {
        reject(new Error(`${url}: an internal address`));
        return;
      }
      const req = request(
        {
          host: target?.host ?? host,
          port: target?.port ?? port,
          path: u.pathname + u.search,
          method: 'POST',
          servername: isIP(host) ? undefined : host,
          headers: {
            host: u.host,
            'content-type': contentType,
            'content-length': body.length,
          },
          agent: false,
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
          ...(target ? {} : { lookup }),
        },
        (res) => {
          // Only the status counts; the answer's body is not read.
          res.resume();
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new Error(`${url}: HTTP status ${status}`));
        },
      );
      const timer = setTimeout(
        () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      req.on('close', () => clearTimeout(timer));
      req.on('error', (e) =>
        reject(new Error(e.message.startsWith(url) ? e.message : `${url}: ${e.message}`)),
      );
      req.end(body);
    });
}
