import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatPretty, isLogLevel, newCid, traceLine, type LogLevel } from './log.js';

/** A logger writing into an array of parsed JSON records. */
function capture(level?: LogLevel, pretty = false) {
  const lines: string[] = [];
  const log = createLogger({ level, pretty, destination: { write: (s: string) => lines.push(s) } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, records };
}

function traceAll(level: LogLevel | undefined) {
  const c = capture(level);
  const conn = c.log.child({ cid: 'abc123' });
  traceLine(conn, 'C', Buffer.from('a1 NOOP\r\n'), 'trace');
  traceLine(conn, 'C', 'a2 LOGIN "u" "p"', 'traceauth');
  traceLine(conn, 'C', 'Subject: hi\r\n', 'tracedata');
  return c.records();
}

test('default level is info and drops debug and traces', () => {
  const c = capture();
  c.log.debug('hidden');
  c.log.info({ remote: '192.0.2.1' }, 'shown');
  const recs = c.records();
  assert.equal(recs.length, 1);
  assert.equal(recs[0]?.msg, 'shown');
  assert.equal(recs[0]?.level, 'info');
  assert.equal(recs[0]?.remote, '192.0.2.1');
  assert.equal(recs[0]?.pid, undefined);
  assert.match(String(recs[0]?.time), /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(traceAll(undefined), []);
  assert.deepEqual(traceAll('info'), []);
  assert.deepEqual(traceAll('debug'), []);
});

test('trace enables protocol lines only', () => {
  const recs = traceAll('trace');
  assert.deepEqual(
    recs.map((r) => [r.level, r.msg, r.cid]),
    [['trace', 'C: a1 NOOP', 'abc123']],
  );
});

test('traceauth adds credentials, tracedata adds message data', () => {
  assert.deepEqual(
    traceAll('traceauth').map((r) => [r.level, r.msg]),
    [
      ['trace', 'C: a1 NOOP'],
      ['traceauth', 'C: a2 LOGIN "u" "p"'],
    ],
  );
  assert.deepEqual(
    traceAll('tracedata').map((r) => [r.level, r.msg, r.cid]),
    [
      ['trace', 'C: a1 NOOP', 'abc123'],
      ['traceauth', 'C: a2 LOGIN "u" "p"', 'abc123'],
      ['tracedata', 'C: Subject: hi', 'abc123'],
    ],
  );
});

test('server direction and child fields', () => {
  const c = capture('trace');
  const conn = c.log.child({ cid: 'x1', remote: '::1' }).child({ username: 'mjl' });
  traceLine(conn, 'S', '* OK ready\r\n');
  assert.deepEqual(c.records(), [
    {
      level: 'trace',
      time: c.records()[0]?.time,
      cid: 'x1',
      remote: '::1',
      username: 'mjl',
      msg: 'S: * OK ready',
    },
  ]);
});

test('unknown level is refused', () => {
  assert.equal(isLogLevel('traceauth'), true);
  assert.equal(isLogLevel('verbose'), false);
  assert.throws(
    () => createLogger({ level: 'verbose' as LogLevel }),
    /unknown log level "verbose"/,
  );
});

test('newCid is short, unique and sortable', () => {
  const ids = Array.from({ length: 1000 }, () => newCid());
  assert.equal(new Set(ids).size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-z]{10}$/);
  assert.deepEqual([...ids].sort(), ids);
});

test('pretty output is one readable line', () => {
  const c = capture('info', true);
  c.log.child({ cid: 'k9' }).warn({ n: 3, reason: 'bad thing' }, 'too many');
  assert.equal(c.lines.length, 1);
  assert.match(
    c.lines[0] ?? '',
    /^\d\d:\d\d:\d\d\.\d{3} WARN {2}too many cid=k9 n=3 reason="bad thing"\n$/,
  );
  assert.equal(formatPretty('not json'), 'not json\n');
});
