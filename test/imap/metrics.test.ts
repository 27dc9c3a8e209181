// IMAP metrics, named and labelled as mox's with a tidings_ prefix so that existing
// dashboards carry over: connections per service, command durations by command and
// result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registry } from '../../src/metrics/index.js';
import { startTestServer, Client } from './harness.js';

async function value(name: string, labels: string): Promise<number> {
  const text = await registry.getSingleMetricAsString(name.replace(/_(count|sum|bucket)$/, ''));
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('connections per service and command durations by command and result', async () => {
  const s = await startTestServer();
  try {
    const before = {
      imap: await value('tidings_imap_connection_total', 'service="imap"'),
      imaps: await value('tidings_imap_connection_total', 'service="imaps"'),
      noop: await value('tidings_imap_command_duration_seconds_count', 'cmd="noop",result="ok"'),
      bad: await value(
        'tidings_imap_command_duration_seconds_count',
        'cmd="select",result="usererror"',
      ),
      unknown: await value(
        'tidings_imap_command_duration_seconds_count',
        'cmd="(unrecognized)",result="badsyntax"',
      ),
    };
    const a = await Client.connect(s.imap.port);
    const b = await Client.login(s);
    await b.ok('NOOP');
    await b.ok('NOOP');
    await b.cmd('SELECT nosuchmailbox');
    await b.cmd('BLAH');
    a.close();
    b.close();
    assert.equal(await value('tidings_imap_connection_total', 'service="imap"'), before.imap + 1);
    assert.equal(await value('tidings_imap_connection_total', 'service="imaps"'), before.imaps + 1);
    assert.equal(
      await value('tidings_imap_command_duration_seconds_count', 'cmd="noop",result="ok"'),
      before.noop + 2,
    );
    assert.equal(
      await value('tidings_imap_command_duration_seconds_count', 'cmd="select",result="usererror"'),
      before.bad + 1,
    );
    assert.equal(
      await value(
        'tidings_imap_command_duration_seconds_count',
        'cmd="(unrecognized)",result="badsyntax"',
      ),
      before.unknown + 1,
    );
  } finally {
    await s.close();
  }
});
