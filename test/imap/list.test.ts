// LIST over the protocol (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE,
// RFC 5819 LIST-STATUS): patterns, references, the hierarchy delimiter, child and
// subscription attributes, selection and return options, syntax errors.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';

const DEFAULTS = [
  '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
  '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
  '* LIST (\\HasNoChildren) "/" "Inbox"',
  '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
  '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
  '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
];

const BAD = 'BAD LIST unrecognized syntax/command: ';

describe('imap LIST', () => {
  let s: TestServer;
  let a: Account;
  let c: Client;
  const sizes: number[] = [];
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
    // As in the RFC 5258 examples: Fruit is not subscribed but has a subscribed child
    // and a subscribed child that does not exist; Vegetable and one child are subscribed.
    await a.createMailbox('Fruit', { subscribe: false });
    await a.createMailbox('Fruit/Apple', { subscribe: false });
    await a.createMailbox('Fruit/Banana');
    await a.subscribe('Fruit/Peach');
    await a.createMailbox('Vegetable');
    await a.createMailbox('Vegetable/Broccoli');
    await a.createMailbox('Vegetable/Corn', { subscribe: false });
    await a.createMailbox('Ünïcode');
    for (const [i, flags] of [Flag.Seen, Flag.Deleted, 0].entries()) {
      const data = Buffer.from(`Subject: v${i}\r\n\r\n${'x'.repeat(i * 10)}\r\n`);
      sizes.push(data.length);
      const p = await s.store.prepareMessage(data);
      await a.addMessages('Vegetable', [{ message: p, flags }]);
      await p.cleanup();
    }
    c = await Client.login(s);
  });
  after(async () => {
    c.close();
    await s.close();
  });

  const list = (args: string) => c.ok(`LIST ${args}`);

  test('* and % patterns', async () => {
    assert.deepEqual(await list('"" *'), [
      ...DEFAULTS.slice(0, 2),
      '* LIST (\\HasChildren) "/" "Fruit"',
      '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
      '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
      ...DEFAULTS.slice(2),
      '* LIST (\\HasChildren) "/" "Vegetable"',
      '* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"',
      '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"',
      '* LIST (\\HasNoChildren) "/" "&ANw-n&AO8-code"',
    ]);
    assert.deepEqual(await list('"" %'), [
      ...DEFAULTS.slice(0, 2),
      '* LIST (\\HasChildren) "/" "Fruit"',
      ...DEFAULTS.slice(2),
      '* LIST (\\HasChildren) "/" "Vegetable"',
      '* LIST (\\HasNoChildren) "/" "&ANw-n&AO8-code"',
    ]);
    assert.deepEqual(await list('"" "Fruit/%"'), [
      '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
      '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
    ]);
    assert.deepEqual(await list('"" "%/B*"'), [
      '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
      '* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"',
    ]);
    // "%" does not cross the delimiter, "*" does.
    assert.deepEqual(await list('"" "V%i"'), []);
    assert.deepEqual(await list('"" "V*i"'), ['* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"']);
    assert.deepEqual(await list('"" "V%%%e"'), ['* LIST (\\HasChildren) "/" "Vegetable"']);
    assert.deepEqual(await list('"" Nothing*'), []);
    // Regular-expression characters are literal.
    assert.deepEqual(await list('"" "Fruit.Apple"'), []);
    assert.deepEqual(await list('"" "Fru.*"'), []);
  });

  test('reference names', async () => {
    const fruit = [
      '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
      '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
    ];
    assert.deepEqual(await list('Fruit %'), fruit);
    assert.deepEqual(await list('Fruit/ %'), fruit);
    assert.deepEqual(await list('"Fruit" "B*"'), [fruit[1]!]);
    // A pattern starting with the delimiter ignores the reference; names are not rooted.
    assert.deepEqual(await list('Fruit "/Fruit/*"'), []);
    assert.deepEqual(await list('"/" "*"'), []);
    // The reference is combined before INBOX is recognised.
    await c.ok('CREATE inbox/sub');
    assert.deepEqual(await list('INBOX %'), ['* LIST (\\HasNoChildren) "/" "Inbox/sub"']);
    await c.ok('DELETE inbox/sub');
    await c.ok('UNSUBSCRIBE inbox/sub');
  });

  test('the empty pattern returns the hierarchy delimiter', async () => {
    assert.deepEqual(await list('"" ""'), ['* LIST (\\Noselect) "/" ""']);
    assert.deepEqual(await list('Fruit ""'), ['* LIST (\\Noselect) "/" ""']);
    // Only for the basic LIST: in an extended LIST an empty pattern matches nothing.
    assert.deepEqual(await list('() "" ""'), []);
    assert.deepEqual(await list('"" ("")'), []);
    assert.deepEqual(await list('"" "" RETURN ()'), []);
    assert.deepEqual(await list('"" ("" Fruit)'), ['* LIST (\\HasChildren) "/" "Fruit"']);
  });

  test('INBOX matches in any case, as "INBOX" would', async () => {
    const inbox = '* LIST (\\HasNoChildren) "/" "Inbox"';
    for (const p of ['INBOX', 'inbox', 'InBoX', 'Inbox', 'IN%', 'I*', 'Inbox*', '*X']) {
      assert.deepEqual(await list(`"" "${p}"`), [inbox], p);
    }
    assert.deepEqual(await list('"" "in%"'), []);
    assert.deepEqual(await list('"" "INBO"'), []);
  });

  test('multiple patterns', async () => {
    assert.deepEqual(await list('"" (Fruit "Vegetable/%" Fruit*)'), [
      '* LIST (\\HasChildren) "/" "Fruit"',
      '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
      '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
      '* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"',
      '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"',
    ]);
    assert.deepEqual(await list('"" (inbox)'), ['* LIST (\\HasNoChildren) "/" "Inbox"']);
  });

  test('SUBSCRIBED selection: subscribed names, \\NonExistent when missing', async () => {
    const want = [
      '* LIST (\\HasNoChildren \\Subscribed \\Archive) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Subscribed \\Drafts) "/" "Drafts"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
      '* LIST (\\NonExistent \\Subscribed) "/" "Fruit/Peach"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Inbox"',
      '* LIST (\\HasNoChildren \\Subscribed \\Junk) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Subscribed \\Trash) "/" "Trash"',
      '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Vegetable/Broccoli"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "&ANw-n&AO8-code"',
    ];
    assert.deepEqual(await list('(SUBSCRIBED) "" "*"'), want);
    // Options are case-insensitive, duplicates are allowed, return options change nothing.
    assert.deepEqual(
      await list('(subscribed SUBSCRIBED) "" "*" RETURN (SUBSCRIBED CHILDREN children)'),
      want,
    );
    assert.deepEqual(await list('(SUBSCRIBED) "" "Fruit"'), []);
  });

  test('RECURSIVEMATCH: parents of subscribed names get CHILDINFO', async () => {
    assert.deepEqual(await list('(SUBSCRIBED RECURSIVEMATCH) "" "%"'), [
      '* LIST (\\HasNoChildren \\Subscribed \\Archive) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Subscribed \\Drafts) "/" "Drafts"',
      '* LIST (\\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Inbox"',
      '* LIST (\\HasNoChildren \\Subscribed \\Junk) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Subscribed \\Trash) "/" "Trash"',
      '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "&ANw-n&AO8-code"',
    ]);
    // The parent must match the pattern; the children need not.
    assert.deepEqual(await list('(SUBSCRIBED RECURSIVEMATCH) "" "Fr*"'), [
      '* LIST (\\HasChildren) "/" "Fruit" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
      '* LIST (\\NonExistent \\Subscribed) "/" "Fruit/Peach"',
    ]);
    // A parent that does not exist either is \NonExistent.
    await c.ok('SUBSCRIBE Nuts/Almond');
    assert.deepEqual(await list('(SUBSCRIBED RECURSIVEMATCH) "" "N%"'), [
      '* LIST (\\NonExistent) "/" "Nuts" ("CHILDINFO" ("SUBSCRIBED"))',
    ]);
    await c.ok('UNSUBSCRIBE Nuts/Almond');
  });

  test('RETURN (SUBSCRIBED) and (CHILDREN) on a basic selection', async () => {
    assert.deepEqual(await list('"" "Fruit*" RETURN (SUBSCRIBED)'), [
      '* LIST (\\HasChildren) "/" "Fruit"',
      '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
    ]);
    assert.deepEqual(await list('"" "Veg*" RETURN (CHILDREN)'), [
      '* LIST (\\HasChildren) "/" "Vegetable"',
      '* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"',
      '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"',
    ]);
    assert.deepEqual(await list('"" "Veg*" RETURN ()'), await list('"" "Veg*"'));
  });

  test('SPECIAL-USE selection and return option', async () => {
    assert.deepEqual(await list('(SPECIAL-USE) "" "*"'), [
      DEFAULTS[0],
      DEFAULTS[1],
      DEFAULTS[3],
      DEFAULTS[4],
      DEFAULTS[5],
    ]);
    assert.deepEqual(await list('(SPECIAL-USE) "" "%" RETURN (SPECIAL-USE)'), [
      DEFAULTS[0],
      DEFAULTS[1],
      DEFAULTS[3],
      DEFAULTS[4],
      DEFAULTS[5],
    ]);
    assert.deepEqual(await list('"" "%r%" RETURN (SPECIAL-USE)'), [
      DEFAULTS[0],
      DEFAULTS[1],
      '* LIST (\\HasChildren) "/" "Fruit"',
      DEFAULTS[5],
    ]);
    assert.deepEqual(await list('(SPECIAL-USE SUBSCRIBED) "" "*"'), [
      '* LIST (\\HasNoChildren \\Subscribed \\Archive) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Subscribed \\Drafts) "/" "Drafts"',
      '* LIST (\\HasNoChildren \\Subscribed \\Junk) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Subscribed \\Sent) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Subscribed \\Trash) "/" "Trash"',
    ]);
  });

  test('REMOTE selects the same: there are no remote mailboxes', async () => {
    assert.deepEqual(await list('(REMOTE) "" "*"'), await list('"" "*"'));
    assert.deepEqual(await list('(REMOTE SUBSCRIBED) "" "F*"'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
      '* LIST (\\NonExistent \\Subscribed) "/" "Fruit/Peach"',
    ]);
  });

  test('RETURN (STATUS): a STATUS line after each existing mailbox', async () => {
    const vegetable = (await a.mailbox('Vegetable'))!;
    const broccoli = (await a.mailbox('Vegetable/Broccoli'))!;
    const size = sizes.reduce((x, y) => x + y, 0);
    assert.deepEqual(
      await list(
        '"" "Vegetable*" RETURN (CHILDREN STATUS (MESSAGES UNSEEN DELETED SIZE UIDNEXT UIDVALIDITY))',
      ),
      [
        '* LIST (\\HasChildren) "/" "Vegetable"',
        `* STATUS "Vegetable" (MESSAGES 3 UNSEEN 2 DELETED 1 SIZE ${size} UIDNEXT 4 UIDVALIDITY ${vegetable.uidvalidity})`,
        '* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"',
        `* STATUS "Vegetable/Broccoli" (MESSAGES 0 UNSEEN 0 DELETED 0 SIZE 0 UIDNEXT 1 UIDVALIDITY ${broccoli.uidvalidity})`,
        '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"',
        `* STATUS "Vegetable/Corn" (MESSAGES 0 UNSEEN 0 DELETED 0 SIZE 0 UIDNEXT 1 UIDVALIDITY ${(await a.mailbox('Vegetable/Corn'))!.uidvalidity})`,
      ],
    );
    // No STATUS for names that do not exist.
    assert.deepEqual(await list('(SUBSCRIBED) "" "Fruit/*" RETURN (STATUS (MESSAGES))'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
      '* STATUS "Fruit/Banana" (MESSAGES 0)',
      '* LIST (\\NonExistent \\Subscribed) "/" "Fruit/Peach"',
    ]);
  });

  test('mailbox names: modified UTF-7 unless UTF-8 is enabled', async () => {
    assert.deepEqual(await list('"" "&ANw-*"'), ['* LIST (\\HasNoChildren) "/" "&ANw-n&AO8-code"']);
    const u = await Client.login(s);
    await u.ok('ENABLE UTF8=ACCEPT');
    const wire = (x: string) => Buffer.from(x, 'utf8').toString('latin1');
    assert.deepEqual(await u.ok('LIST "" "Ü*"'), [wire('* LIST (\\HasNoChildren) "/" "Ünïcode"')]);
    assert.deepEqual(await u.ok('LIST "" "&ANw-*"'), []);
    u.close();
    assert.equal(
      (await c.cmd('LIST "" "&Jjo"')).tagged,
      'NO [CANNOT] LIST invalid modified UTF-7 mailbox name: unterminated shift sequence',
    );
  });

  test('syntax errors are BAD', async () => {
    const cases: [string, string][] = [
      ['(FOO) "" *', 'unknown list selection option FOO'],
      ['(RECURSIVEMATCH) "" *', 'RECURSIVEMATCH needs the SUBSCRIBED selection option'],
      ['(REMOTE RECURSIVEMATCH) "" *', 'RECURSIVEMATCH needs the SUBSCRIBED selection option'],
      ['(SPECIAL-USE RECURSIVEMATCH) "" *', 'RECURSIVEMATCH needs the SUBSCRIBED selection option'],
      ['"" * RETURN (FOO)', 'unknown list return option FOO'],
      ['"" * RETURN (STATUS (FOO))', 'unknown status attribute FOO'],
      ['"" * RETURN (STATUS ())', 'expected atom'],
      ['"" * RETURN (STATUS)', 'expected space'],
      ['"" * RETURN SUBSCRIBED', 'expected "("'],
      ['"" * FOO', 'expected RETURN'],
      ['"" ()', 'expected mailbox pattern'],
      ['""', 'expected space'],
      ['(SUBSCRIBED)"" *', 'expected space'],
    ];
    for (const [args, why] of cases) {
      assert.equal((await c.cmd(`LIST ${args}`)).tagged, BAD + why, args);
    }
  });

  test('a pattern full of wildcards is matched without backtracking', async () => {
    // Against a backtracking matcher this takes longer than the read timeout.
    const pattern = `${'*%'.repeat(3000)}q`;
    assert.deepEqual(await list(`"" "${pattern}"`), []);
    assert.deepEqual(await list(`"" "${'%*'.repeat(3000)}a"`), [
      '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
    ]);
    assert.deepEqual(await list(`"" "${'%'.repeat(3000)}a"`), []);
  });

  test('LIST works in the selected state too', async () => {
    const x = await Client.login(s);
    await x.ok('SELECT Vegetable');
    assert.deepEqual(await x.ok('LIST "" Vegetable'), ['* LIST (\\HasChildren) "/" "Vegetable"']);
    x.close();
  });
});
