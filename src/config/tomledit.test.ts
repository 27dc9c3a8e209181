import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { editToml, formatTomlString, TomlEditError, type TomlEdit } from './tomledit.js';

const add = (path: string[], value: Record<string, unknown>, after = [['a']]): TomlEdit => ({
  op: 'addTable',
  path,
  value,
  after,
});

test('lines inside strings and arrays are not mistaken for headers or comments', () => {
  const text = `[a.x]
s = """
[a.fake]
# not a comment
"""
t = 'lit[]#' # c
list = [
  "one", # first
  # a comment line inside
  ["nested", "]"],
]

[b]
k = 1
`;
  const out = editToml(text, [add(['a', 'y'], { v: 'x' })]);
  assert.equal(out, text.replace('\n\n[b]', '\n\n[a.y]\nv = "x"\n\n[b]'));
  assert.equal(
    editToml(out, [{ op: 'remove', path: ['a', 'x'] }]),
    '[a.y]\nv = "x"\n\n[b]\nk = 1\n',
  );
});

test('arrays grow in place, one line or several, empty or with a trailing comma', () => {
  const text = `[t]
one = ["a"] # keep
empty = [ ]
multi = [
  "a", # first
  "b",
]
`;
  const out = editToml(text, [
    { op: 'append', path: ['t', 'one'], item: 'b' },
    { op: 'append', path: ['t', 'empty'], item: 'x' },
    { op: 'append', path: ['t', 'multi'], item: 'c' },
    { op: 'append', path: ['t', 'fresh'], item: 'y' },
    { op: 'append', path: ['u', 'sub', 'list'], item: 'z' },
  ]);
  assert.equal(
    out,
    `[t]
one = ["a", "b"] # keep
empty = ["x" ]
multi = [
  "a", # first
  "b", "c",
]
fresh = ["y"]
`.replace(/^/, 'u.sub.list = ["z"]\n\n'),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(parse(out))), {
    u: { sub: { list: ['z'] } },
    t: { one: ['a', 'b'], empty: ['x'], multi: ['a', 'b', 'c'], fresh: ['y'] },
  });
  assert.throws(
    () => editToml(text, [{ op: 'append', path: ['t', 'one', 'x'], item: 1 }]),
    (e: unknown) => e instanceof TomlEditError && e.keyPath === 't.one',
  );
});

test('CRLF files get CRLF lines; a missing final line break is added before new lines', () => {
  const crlf = '# top\r\n\r\n[a.x]\r\nk = 1\r\n\r\n[b]\r\n';
  assert.equal(
    editToml(crlf, [add(['a', 'y'], { k: 2 })]),
    '# top\r\n\r\n[a.x]\r\nk = 1\r\n\r\n[a.y]\r\nk = 2\r\n\r\n[b]\r\n',
  );
  assert.equal(editToml('[a.x]\nk = 1', [add(['a', 'y'], {})]), '[a.x]\nk = 1\n\n[a.y]\n');
  assert.equal(editToml('', [add(['a', 'y'], { k: 'v' }, [])]), '[a.y]\nk = "v"\n');
  assert.equal(editToml('# only a comment', [add(['a'], {}, [])]), '# only a comment\n\n[a]\n');
});

test('placement: after the last table of the first prefix that has one, else before', () => {
  const text = '# top\n\n[x]\n\n# about z\n[z.one]\n';
  const edit = (after: string[][], before: string[][]): string =>
    editToml(text, [{ op: 'addTable', path: ['y', 'n'], value: { k: 1 }, after, before }]);
  assert.equal(edit([['y'], ['x']], []), '# top\n\n[x]\n\n[y.n]\nk = 1\n\n# about z\n[z.one]\n');
  assert.equal(edit([['y']], [['z']]), '# top\n\n[x]\n\n[y.n]\nk = 1\n\n# about z\n[z.one]\n');
  assert.equal(edit([], [['q']]), `${text}\n[y.n]\nk = 1\n`);
});

test('keys: quoted, escaped and spaced headers are matched; new ones are quoted as needed', () => {
  const text = `[ accounts . "b\\u00f6b" ]\ndomain = "x"\n[accounts.'lit.eral']\ndomain = "y"\n`;
  assert.equal(
    editToml(text, [{ op: 'remove', path: ['accounts', 'böb'] }]),
    `[accounts.'lit.eral']\ndomain = "y"\n`,
  );
  assert.equal(
    editToml(text, [{ op: 'remove', path: ['accounts', 'lit.eral'] }]),
    `[ accounts . "b\\u00f6b" ]\ndomain = "x"\n`,
  );
  const out = editToml(text, [
    add(['accounts', 'new one'], { 'a.b': 'q"\n\u007f', list: [1, true], t: { 'x@y': {} } }, [
      ['accounts'],
    ]),
  ]);
  assert.match(
    out,
    /\[accounts\."new one"\]\n"a\.b" = "q\\"\\n\\u007f"\nlist = \[1, true\]\nt = \{ "x@y" = \{\} \}\n$/,
  );
  assert.equal(formatTomlString('tab\there'), '"tab\\there"');
});

test('what cannot be edited in place is refused with the key that holds it', () => {
  const refused = (text: string, e: TomlEdit, keyPath: string, problem: RegExp) =>
    assert.throws(
      () => editToml(text, [e]),
      (err: unknown) =>
        err instanceof TomlEditError && err.keyPath === keyPath && problem.test(err.problem),
    );
  refused(
    'a = { x = { k = 1 } }\n',
    { op: 'remove', path: ['a', 'x'] },
    'a',
    /^is written as an inline value/,
  );
  refused('[a]\nk = 1\n', { op: 'remove', path: ['a', 'nope'] }, 'a.nope', /^not found$/);
  // A table that exists already: the parser refuses the result.
  refused('[a.x]\n', add(['a', 'x'], {}), 'a.x', /^cannot be changed in place \(/);
});
