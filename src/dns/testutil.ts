// Shared test assertions for DNS errors.
import assert from 'node:assert/strict';
import { DNSError, type DNSErrorKind } from './types.js';

/** Assert that `p` rejects with a DNSError of this kind, code, name and type. */
export async function rejectsDNS(
  p: Promise<unknown>,
  want: { kind: DNSErrorKind; code?: string; name?: string; rrtype?: string },
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DNSError, `expected DNSError, got ${String(e)}`);
    assert.equal(e.kind, want.kind);
    if (want.code !== undefined) assert.equal(e.code, want.code);
    if (want.name !== undefined) assert.equal(e.name, want.name);
    if (want.rrtype !== undefined) assert.equal(e.rrtype, want.rrtype);
    return true;
  });
}
