// CREATE over the protocol (RFC 9051 §6.3.4, RFC 6154 §3 CREATE-SPECIAL-USE, RFC 5530
// response codes): parents, subscriptions, trailing delimiter, OLDNAME, USE.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mailboxObjectId } from '../../src/imap/response.js';
import { startTestServer, Client, type TestServer } from './harness.js';

describe('imap CREATE', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('missing parents are created; everything created is subscribed', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('CREATE p1/p2/p3');
    assert.deepEqual(r.untagged, [
      '* LIST (\\Subscribed) "/" "p1"',
      '* LIST (\\Subscribed) "/" "p1/p2"',
      '* LIST (\\Subscribed) "/" "p1/p2/p3"',
    ]);
    // RFC 8474 §4.1: the MAILBOXID of the mailbox asked for.
    const p3 = (await (await s.store.account('mjl')).mailbox('p1/p2/p3'))!;
    assert.equal(r.tagged, `OK [MAILBOXID (${mailboxObjectId(p3)})] CREATE done`);
    assert.deepEqual(await c.ok('LIST "" "p1*" RETURN (SUBSCRIBED)'), [
      '* LIST (\\HasChildren \\Subscribed) "/" "p1"',
      '* LIST (\\HasChildren \\Subscribed) "/" "p1/p2"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "p1/p2/p3"',
    ]);
    // Only the missing levels are created.
    assert.deepEqual(await c.ok('CREATE p1/q'), ['* LIST (\\Subscribed) "/" "p1/q"']);
    c.close();
  });

  test('other sessions see the new mailboxes and subscriptions', async () => {
    const c = await Client.login(s);
    const other = await Client.login(s);
    await c.ok('CREATE o1/o2');
    assert.deepEqual(await other.ok('NOOP'), [
      '* LIST () "/" "o1"',
      '* LIST (\\Subscribed) "/" "o1"',
      '* LIST () "/" "o1/o2"',
      '* LIST (\\Subscribed) "/" "o1/o2"',
    ]);
    // The creating session is not told twice.
    assert.deepEqual(await c.ok('NOOP'), []);
    c.close();
    other.close();
  });

  test('a trailing delimiter is removed; OLDNAME only for IMAP4rev2', async () => {
    const c = await Client.login(s);
    assert.deepEqual(await c.ok('CREATE t1/'), ['* LIST (\\Subscribed) "/" "t1"']);
    assert.deepEqual(await c.ok('LIST "" "t1*"'), ['* LIST (\\HasNoChildren) "/" "t1"']);

    const r2 = await Client.login(s);
    await r2.ok('ENABLE IMAP4rev2');
    assert.deepEqual(await r2.ok('CREATE t2/'), [
      '* LIST (\\Subscribed) "/" "t2" ("OLDNAME" ("t2/"))',
    ]);
    // Parents were not named by the client: no OLDNAME for them.
    assert.deepEqual(await r2.ok('CREATE t3/x/'), [
      '* LIST (\\Subscribed) "/" "t3"',
      '* LIST (\\Subscribed) "/" "t3/x" ("OLDNAME" ("t3/x/"))',
    ]);
    // A name that needs no change gets no OLDNAME; neither does INBOX's case.
    assert.deepEqual(await r2.ok('CREATE t4'), ['* LIST (\\Subscribed) "/" "t4"']);
    assert.deepEqual(await r2.ok('CREATE inbox/t5'), ['* LIST (\\Subscribed) "/" "Inbox/t5"']);
    c.close();
    r2.close();
  });

  test('USE sets a special use, taking it from the mailbox that had it', async () => {
    const c = await Client.login(s);
    assert.deepEqual(await c.ok('CREATE MySent (USE (\\Sent))'), [
      '* LIST (\\Subscribed \\Sent) "/" "MySent"',
    ]);
    assert.deepEqual(await c.ok('LIST "" "*Sent"'), [
      '* LIST (\\HasNoChildren \\Sent) "/" "MySent"',
      '* LIST (\\HasNoChildren) "/" "Sent"',
    ]);
    // The attribute is case-insensitive; an empty list is no special use.
    assert.deepEqual(await c.ok('CREATE MyTrash (use (\\trash))'), [
      '* LIST (\\Subscribed \\Trash) "/" "MyTrash"',
    ]);
    assert.deepEqual(await c.ok('CREATE Plain (USE ())'), ['* LIST (\\Subscribed) "/" "Plain"']);
    c.close();
  });

  test('USEATTR for unsupported or conflicting attributes; nothing is created', async () => {
    const c = await Client.login(s);
    assert.equal(
      (await c.cmd('CREATE u1 (USE (\\All))')).tagged,
      'NO [USEATTR] CREATE unsupported special-use attribute \\All',
    );
    assert.equal(
      (await c.cmd('CREATE u1 (USE (\\Flagged))')).tagged,
      'NO [USEATTR] CREATE unsupported special-use attribute \\Flagged',
    );
    assert.equal(
      (await c.cmd('CREATE u1 (USE (\\Sent \\Trash))')).tagged,
      'NO [USEATTR] CREATE only one special-use attribute per mailbox',
    );
    assert.deepEqual(await c.ok('LIST "" u1'), []);
    // The whole command is parsed before its attributes are checked.
    assert.equal(
      (await c.cmd('CREATE u1 (USE (\\All)) x')).tagged,
      'BAD CREATE unrecognized syntax/command: unexpected text at end: " x"',
    );
    assert.equal(
      (await c.cmd('CREATE u1 (FOO (\\Sent))')).tagged,
      'BAD CREATE unrecognized syntax/command: expected USE',
    );
    assert.equal(
      (await c.cmd('CREATE u1 (USE \\Sent)')).tagged,
      'BAD CREATE unrecognized syntax/command: expected "("',
    );
    c.close();
  });

  test('ALREADYEXISTS for an existing mailbox, INBOX in any case included', async () => {
    const c = await Client.login(s);
    for (const name of ['Archive', 'Archive/', 'inbox', 'INBOX', 'Inbox/']) {
      assert.equal(
        (await c.cmd(`CREATE ${name}`)).tagged,
        'NO [ALREADYEXISTS] CREATE mailbox already exists',
        name,
      );
    }
    c.close();
  });

  test('CANNOT for invalid names', async () => {
    const c = await Client.login(s);
    const cases: [string, string][] = [
      ['"a//b"', 'invalid mailbox name "a//b": contains "//"'],
      ['"#x"', 'invalid mailbox name "#x": starts with "#"'],
      ['"/x"', 'invalid mailbox name "/x": starts with "/"'],
      ['"a/../b"', 'invalid mailbox name "a/../b": contains a ".." level'],
      ['""', 'invalid mailbox name "": empty name'],
      ['"/"', 'invalid mailbox name "": empty name'],
    ];
    for (const [name, why] of cases) {
      assert.equal((await c.cmd(`CREATE ${name}`)).tagged, `NO [CANNOT] CREATE ${why}`);
    }
    // "#", "%", "*" and "&" are fine after the first character: refusing them would keep
    // mailboxes with such names from being migrated from other servers.
    const r = await c.cmd('CREATE {5+}\r\na#%*b');
    assert.deepEqual(r.untagged, ['* LIST (\\Subscribed) "/" "a#%*b"']);
    c.close();
  });

  test('names: invalid UTF-8, 8-bit without UTF8=ACCEPT and control characters are BAD', async () => {
    // RFC 9051 §5.1, RFC 6855 §3: names are UTF-8 (modified UTF-7 on the wire before
    // UTF-8 is enabled) without control characters (RFC 5198 §2). Octets are written
    // as latin1 characters here.
    const BAD = 'BAD CREATE unrecognized syntax/command: ';
    const u = await Client.login(s);
    await u.ok('ENABLE UTF8=ACCEPT');
    for (const [name, why] of [
      ['{2+}\r\n\xc3(', 'invalid UTF-8 in mailbox name'],
      ['{3+}\r\na\xffb', 'invalid UTF-8 in mailbox name'],
      ['{5+}\r\n\xed\xa0\x80ab', 'invalid UTF-8 in mailbox name'], // a surrogate
      ['{4+}\r\n\xc0\xafab', 'invalid UTF-8 in mailbox name'], // overlong "/"
      ['\xe9t\xe9', 'invalid UTF-8 in mailbox name'], // a raw atom
      ['t\xe9', 'invalid UTF-8 in mailbox name'],
      ['"\xe9t\xe9"', 'invalid UTF-8 in quoted string'],
      ['{3+}\r\na\x01b', 'control characters in mailbox name'],
      ['"a\xc2\x85b"', 'control characters in mailbox name'], // U+0085
      ['"a\xe2\x80\xa8b"', 'control characters in mailbox name'], // U+2028
      ['"a\x7fb"', 'control characters in mailbox name'],
    ]) {
      assert.equal((await u.cmdOctets(`CREATE ${name}`)).tagged, BAD + why, name);
    }
    // Valid UTF-8 in a raw atom is UTF-8, wherever it starts.
    for (const name of ['\xc3\xa9t\xc3\xa9', 'caf\xc3\xa9']) {
      assert.deepEqual((await u.cmdOctets(`CREATE ${name}`)).untagged, [
        `* LIST (\\Subscribed) "/" "${name}"`,
      ]);
    }
    const c = await Client.login(s);
    for (const [name, why] of [
      ['{2+}\r\n\xc3\xa9', '8-bit mailbox name without UTF8=ACCEPT, use modified UTF-7'],
      ['{2+}\r\n\xc3(', '8-bit mailbox name without UTF8=ACCEPT, use modified UTF-7'],
      ['"\xc3\xa9"', '8-bit character in quoted string without UTF8=ACCEPT'],
      ['{3+}\r\na\x01b', 'control characters in mailbox name'],
      ['a&AAE-b', 'control characters in mailbox name'], // U+0001 in modified UTF-7
      ['a&AIU-b', 'control characters in mailbox name'], // U+0085
    ]) {
      assert.equal((await c.cmdOctets(`CREATE ${name}`)).tagged, BAD + why, name);
    }
    // Nothing was stored with replacement characters, controls or latin1 read as UTF-8.
    const names = (await (await s.store.account('mjl')).mailboxes()).map((m) => m.name);
    assert.deepEqual(
      names.filter((n) => /[\ufffd\u0000-\u001f\u007f-\u009f\u00c3\u00ff]/.test(n)),
      [],
    );
    assert.ok(names.includes('été') && names.includes('café'), names.join(', '));
    c.close();
    u.close();
  });

  test('names: modified UTF-7 without UTF8=ACCEPT, UTF-8 with it', async () => {
    const c = await Client.login(s);
    assert.deepEqual(await c.ok('CREATE "Caf&AOk-"'), ['* LIST (\\Subscribed) "/" "Caf&AOk-"']);
    const u = await Client.login(s);
    await u.ok('ENABLE UTF8=ACCEPT');
    const wire = (x: string) => Buffer.from(x, 'utf8').toString('latin1');
    assert.deepEqual(await u.ok('LIST "" "Caf*"'), [wire('* LIST (\\HasNoChildren) "/" "Café"')]);
    assert.deepEqual(await u.ok('CREATE "Café/Ünï"'), [
      wire('* LIST (\\Subscribed) "/" "Café/Ünï"'),
    ]);
    // The other session's creation reaches this one, in modified UTF-7, after the LIST.
    assert.deepEqual(await c.ok('LIST "" "Caf&AOk-/*"'), [
      '* LIST (\\HasNoChildren) "/" "Caf&AOk-/&ANw-n&AO8-"',
      '* LIST () "/" "Caf&AOk-/&ANw-n&AO8-"',
      '* LIST (\\Subscribed) "/" "Caf&AOk-/&ANw-n&AO8-"',
    ]);
    assert.equal(
      (await c.cmd('CREATE "&bad"')).tagged,
      'NO [CANNOT] CREATE invalid modified UTF-7 mailbox name: unterminated shift sequence',
    );
    c.close();
    u.close();
  });
});
