// Types for the parts of mailauth used here that ship without declarations.

declare module 'mailauth/lib/dkim/body/index.js' {
  /** A DKIM body hasher (RFC 6376 §3.4.3-§3.4.4, §3.7): feed the body, then digest. */
  export interface DkimBodyHasher {
    update(chunk: Buffer): void;
    digest(encoding: 'base64'): string;
  }

  /**
   * A body hasher for `canonicalization` ("relaxed" or "simple", or "header/body") and
   * `hashAlgo` ("sha256"); `maxBodyLength` false hashes the whole body.
   */
  export function dkimBody(
    canonicalization: string,
    hashAlgo: string,
    maxBodyLength: number | false,
  ): DkimBodyHasher;
}

declare module 'mailauth/lib/spf/index.js' {
  /** An SPF check (RFC 7208 §4) of `sender` (or postmaster@helo) for `ip`. */
  export function spf(opts: {
    sender?: string;
    ip: string;
    helo?: string;
    mta?: string;
    resolver?: (name: string, rrtype: string) => Promise<unknown>;
  }): Promise<{
    domain: string;
    status: { result: string; comment?: string };
    rr?: string;
    lookups?: { count: number; void: number };
  }>;
}

declare module 'mailauth/lib/spf/macro.js' {
  /** Expands SPF macros (RFC 7208 §7) in `input`. */
  export default function macro(
    input: string,
    values: { sender: string; ip: string; helo: string; mta?: string },
  ): string;
}
