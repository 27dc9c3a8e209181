// The report XML reader: events for well-formed documents, and an error naming the
// problem for malformed ones and for DTDs, entities and deep nesting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDocument, XmlReader } from './xml.js';
import { ReportError } from './errors.js';

/** Events as a compact string: <a> "text" </a>. */
function events(doc: string, maxDepth?: number): string {
  const r = new XmlReader(doc, maxDepth);
  const out: string[] = [];
  for (let e = r.next(); e !== null; e = r.next()) {
    if (e.type === 'open') out.push(`<${e.name}>`);
    else if (e.type === 'close') out.push(`</${e.name}>`);
    else out.push(JSON.stringify(e.text));
  }
  return out.join(' ');
}

test('well-formed documents give their elements and text', () => {
  const cases: [string, string][] = [
    ['<a/>', '<a> </a>'],
    ['<a>x</a>', '<a> "x" </a>'],
    ['\uFEFF<?xml version="1.0"?>\n<a><b/></a>\n', '<a> <b> </b> </a>'],
    ['<a x="1" y=\'>2\'>t</a>', '<a> "t" </a>'],
    ['<a\n  x = "1"\n/>', '<a> </a>'],
    ['<a>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;&#x1F600;</a>', '<a> "<&>\\"\'AB😀" </a>'],
    ['<a>&#9;&#10;&#13;</a>', '<a> "\\t\\n\\r" </a>'],
    ['<a><![CDATA[<b>&amp;]]></a>', '<a> "<b>&amp;" </a>'],
    ['<a><!-- <b> --><?pi x?>t</a>', '<a> "t" </a>'],
    ['<!-- c --><a/><!-- after -->', '<a> </a>'],
    ['<ns:a xmlns:ns="urn:x"><ns:b>v</ns:b></ns:a>', '<a> <b> "v" </b> </a>'],
    ['<a >x</a >', '<a> "x" </a>'],
    ['<a>x<b/>y</a>', '<a> "x" <b> </b> "y" </a>'],
  ];
  for (const [doc, want] of cases) assert.equal(events(doc), want, doc);
});

test('malformed and refused documents give an error saying what was wrong', () => {
  const deep = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
  const cases: [string, RegExp][] = [
    ['', /no root element/],
    ['  \n', /no root element/],
    ['text', /text outside the root element/],
    ['<a>', /document ends inside <a>/],
    ['<a></b>', /<\/b> closes <a>/],
    ['</a>', /end tag <\/a> without start/],
    ['<a/><b/>', /element <b> after the root element/],
    ['<a/>trailing', /text outside the root element/],
    ['<a x></a>', /attribute without value/],
    ['<a x=1></a>', /unquoted attribute value/],
    ['<a x="1></a>', /unterminated attribute value/],
    ['<a x="<"></a>', /"<" in an attribute value/],
    ['<a x="1"y="2"></a>', /in start tag <a>/],
    ['<a><!-- x</a>', /unterminated comment/],
    ['<a><![CDATA[x</a>', /unterminated CDATA/],
    ['<?xml version="1.0"', /unterminated processing instruction/],
    ['<1a/>', /expected a name/],
    ['<a>&</a>', /"&" not starting a reference/],
    ['<a>AT&T</a>', /"&" not starting a reference/],
    ['<a>&#0;</a>', /&#0; is not a character/],
    ['<a>&#x1B;</a>', /&#x1B; is not a character/],
    ['<a>&#xD800;</a>', /is not a character/],
    ['<a>&#x110000;</a>', /is not a character/],
    ['<a x="&bogus;"/>', /entity &bogus; which is not defined/],
    // No DTD, no entities: nothing is ever expanded (billion laughs, external entities).
    [
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>',
      /<!DOCTYPE> declaration is refused/,
    ],
    ['<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>&xxe;</a>', /<!DOCTYPE> declaration is refused/],
    ['<a><!ENTITY x "y"></a>', /<!ENTITY> declaration is refused/],
    ['<a>&xxe;</a>', /entity &xxe; which is not defined \(entities are not expanded\)/],
    ['<a><!ELEMENT a ANY></a>', /unexpected <!ELEMENT/],
    [deep(33), /nested more than 32 deep/],
    [deep(200000), /nested more than 32 deep/],
  ];
  for (const [doc, want] of cases) {
    assert.throws(
      () => events(doc),
      (e: unknown) => e instanceof ReportError && want.test(e.message),
      doc.slice(0, 80),
    );
  }
  assert.equal(events(deep(32)).split(' ').length, 64);
  assert.throws(() => events(deep(4), 3), /nested more than 3 deep/);
});

test('documents decode as UTF-8 or, when declared, Latin-1; UTF-16 is refused', () => {
  const cases: [Buffer, string | RegExp][] = [
    [Buffer.from('<a>café</a>'), '<a>café</a>'],
    [Buffer.from('\uFEFF<a>é</a>'), '<a>é</a>'],
    [Buffer.from('<?xml version="1.0" encoding="UTF-8"?><a/>'), /<a\/>$/],
    [
      Buffer.concat([
        Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><a>caf'),
        Buffer.from([0xe9]),
        Buffer.from('</a>'),
      ]),
      /<a>café<\/a>$/,
    ],
    [
      Buffer.from('<?xml version="1.0" encoding="EBCDIC"?><a/>'),
      /encoding "EBCDIC" is not supported/,
    ],
    [Buffer.from([0xff, 0xfe, 0x3c, 0x00]), /UTF-16 is not supported/],
  ];
  for (const [data, want] of cases) {
    if (typeof want === 'string') assert.equal(decodeDocument(data), want);
    else if (/supported/.test(want.source)) assert.throws(() => decodeDocument(data), want);
    else assert.match(decodeDocument(data), want);
  }
});
