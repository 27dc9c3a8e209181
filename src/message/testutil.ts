// Helpers shared by the tests of this directory.
import assert from 'node:assert/strict';
import type { Part } from './types.js';

/** Lines joined with CR LF, with a final CR LF. */
export function crlf(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
}

/** The body bytes of a part as a latin1 string. */
export function bodyOf(buf: Buffer, p: Part): string {
  return buf.toString('latin1', p.bodyStart, p.end);
}

/** The header bytes of a part as a latin1 string. */
export function headerOf(buf: Buffer, p: Part): string {
  return buf.toString('latin1', p.headerStart, p.bodyStart);
}

/** "type/subtype[children]" for a tree, enclosed messages in braces. Iterative. */
export function shape(root: Part): string {
  let out = '';
  const stack: (Part | string)[] = [root];
  while (stack.length > 0) {
    const item = stack.pop() as Part | string;
    if (typeof item === 'string') {
      out += item;
      continue;
    }
    out += `${item.type}/${item.subtype}`;
    if (item.parts) {
      stack.push(']');
      for (let i = item.parts.length - 1; i >= 0; i--) {
        stack.push(item.parts[i] as Part);
        if (i > 0) stack.push(',');
      }
      stack.push('[');
    } else if (item.message) {
      stack.push('}', item.message, '{');
    }
  }
  return out;
}

/** Follows a path of child indexes (1-based, as IMAP part numbers); "m" enters a message. */
export function at(root: Part, ...path: (number | 'm')[]): Part {
  let p = root;
  for (const step of path) {
    const next = step === 'm' ? p.message : p.parts?.[step - 1];
    assert.ok(next, `no part at ${path.join('.')}`);
    p = next;
  }
  return p;
}

/** Every part with its depth, without recursion. */
export function allParts(root: Part): { part: Part; depth: number; parent: Part | null }[] {
  const out: { part: Part; depth: number; parent: Part | null }[] = [];
  const stack: { part: Part; depth: number; parent: Part | null }[] = [
    { part: root, depth: 0, parent: null },
  ];
  while (stack.length > 0) {
    const e = stack.pop() as { part: Part; depth: number; parent: Part | null };
    out.push(e);
    if (e.part.message) stack.push({ part: e.part.message, depth: e.depth + 1, parent: e.part });
    for (const c of e.part.parts ?? []) stack.push({ part: c, depth: e.depth + 1, parent: e.part });
  }
  return out;
}

/** Asserts the structural invariants of a parsed tree for a message of `length` bytes. */
export function checkTree(root: Part, length: number): void {
  assert.equal(root.headerStart, 0);
  assert.equal(root.end, length);
  for (const { part: p, parent } of allParts(root)) {
    assert.ok(
      0 <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.end && p.end <= length,
      `offsets out of order: ${p.headerStart} ${p.bodyStart} ${p.end} (length ${length})`,
    );
    assert.equal(p.bodySize, p.end - p.bodyStart);
    assert.ok(p.type !== '' && p.subtype !== '');
    if (p.bodyLines !== undefined) assert.ok(p.bodyLines >= 0 && p.bodyLines <= p.bodySize);
    if (parent !== null) {
      assert.ok(p.headerStart >= parent.bodyStart && p.end <= parent.end, 'child outside parent');
    }
    if (p.message) {
      assert.equal(p.message.headerStart, p.bodyStart);
      assert.equal(p.message.end, p.end);
    }
    let last = p.bodyStart;
    for (const c of p.parts ?? []) {
      assert.ok(c.headerStart >= last, 'children overlap or are out of order');
      last = c.end;
    }
  }
}
