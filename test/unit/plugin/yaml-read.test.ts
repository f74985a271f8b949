/**
 * The YAML subset reader install uses to read a node's CredentialProviderConfig: what it
 * accepts it must read exactly as a full YAML 1.1 reader does (the `yaml` package, as the
 * kubelet's sigs.k8s.io/yaml is 1.1); what it cannot read safely it refuses with a line.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseYaml, YamlError } from '../../../plugin/src/yaml-read';
import { toYaml } from '../../../plugin/src/yaml';
import { ACR, ECR, GCP, JFROG } from './support/vendor-configs';

const full = (text: string) => parse(text, { version: '1.1' });

function refusal(text: string): string {
  try {
    parseYaml(text);
  } catch (err) {
    if (err instanceof YamlError) return err.message;
    throw err;
  }
  return 'accepted';
}

describe('parseYaml', () => {
  it.each([
    ['the ECR provider config', ECR],
    ['the GCP provider config', GCP],
    ['the ACR provider config', ACR],
    ['a JFrog provider config', JFROG],
    ['scalars of every style', "a: plain text\nb: \"dq \\\" \\\\ \\n \\t \\u00e9 \\x41\"\nc: 'it''s'\nd: \"\"\ne: ''\n"],
    ['booleans, nulls and numbers', 'a: true\nb: False\nc: null\nd: ~\ne:\nf: 12\ng: -3\nh: 1.5\ni: 1e3\nj: 0\n'],
    ['strings that look close to numbers', 'a: 5m\nb: 12h\nc: 1.34.0\nd: 127.0.0.1:5000\ne: v1\nf: 0box.example.com\ng: 0xyz\n'],
    ['comments everywhere', '# head\na: 1 # after\n# between\nb: # empty value\n  - x # item\n  # inside\n  - w\nc: "q # not a comment"\nd: a#b\n'],
    ['a sequence at its key indentation', 'a:\n- 1\n- 2\nb: 3\n'],
    ['nested sequences and empty items', 'a:\n  - - 1\n    - 2\n  -\n  - k: v\n    l: w\n  -\n    m: o\n'],
    ['flow collections on one line', 'a: [1, "two", \'three\', four]\nb: {x: 1, "y": [2, 3], z: }\nc: []\nd: {}\ne: [a, ]\n'],
    ['quoted keys and keys with dots and slashes', '"quoted key": 1\n\'single\': 2\nexample.com/role: 3\n'],
    ['a leading document marker and a BOM', '\uFEFF--- # doc\na: 1\n'],
    ['Windows line ends', 'a: 1\r\nb:\r\n  - x\r\n'],
    ['a value on the line after its key', 'a:\n  "deeper"\n'],
    ['a top-level sequence', '- a\n- b: c\n'],
    ['toYaml output', toYaml({ a: 'x', b: [{ c: true, d: null }, 'e'], 'f g': { h: [] }, i: {} })],
  ])('reads %s as a full YAML 1.1 reader does', (_what, text) => {
    expect(parseYaml(text)).toEqual(full(text));
  });

  it('reads an empty document, or one of comments only, as nothing', () => {
    expect(parseYaml('')).toBeUndefined();
    expect(parseYaml('# nothing here\n\n---\n')).toBeUndefined();
  });

  it('keeps __proto__ as a key instead of a prototype', () => {
    const doc = parseYaml('__proto__: x\n') as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
  });

  it.each([
    ['an anchor', 'a: &x 1\nb: 2\n', /line 1: anchors, aliases and tags/],
    ['an alias', 'a: 1\nb: *x\n', /line 2: anchors, aliases and tags/],
    ['a tag', 'a: !!str 1\n', /line 1: anchors, aliases and tags/],
    ['an anchored key', '&k a: 1\n', /line 1: anchors/],
    ['a literal block scalar', 'a: |\n  text\n', /line 1: block scalars/],
    ['a folded block scalar', 'a: >-\n  text\n', /line 1: block scalars/],
    ['a second document', 'a: 1\n---\nb: 2\n', /line 2: only one YAML document/],
    ['a document end marker', 'a: 1\n...\n', /line 2: only one YAML document/],
    ['a directive', '%YAML 1.2\n---\na: 1\n', /line 1: YAML directives/],
    ['a plain value over two lines', 'a: one\n  two\n', /line 2: unexpected indentation/],
    ['a quoted value over two lines', 'a: "one\n  two"\n', /line 1: a quoted value must end/],
    ['a flow sequence over two lines', 'a: [1,\n  2]\n', /line 1: a flow sequence must end/],
    ['a tab in the indentation', 'a:\n\t- 1\n', /line 2: tabs/],
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', /line 3: duplicate key "a"/],
    ['a duplicate key in a flow map', 'a: {x: 1, x: 2}\n', /duplicate key "x"/],
    ['a complex key', '? a\n: 1\n', /line 1: complex keys/],
    ['a colon and space inside a plain value', 'a: b: c\n', /quote the value/],
    ['an unknown escape', 'a: "\\q"\n', /unknown escape/],
    ['a short hex escape', 'a: "\\x4"\n', /bad escape/],
    ['text after a quoted value', 'a: "x" y\n', /unexpected text/],
    ['a sequence item after a key on one line', 'a: - b\n', /unexpected "-"/],
    ['a line that is not a key in a mapping', 'a: 1\njust text\n', /line 2: expected "key: value"/],
    ['a deeper line after a sequence item', '- a\n   - b\n', /line 2: unexpected indentation/],
    ['a shallower line after a deeper start', '  a: 1\nb: 2\n', /line 2: unexpected indentation/],
  ])('refuses %s', (_what, text, message) => {
    expect(refusal(text)).toMatch(message);
  });

  it.each(['yes', 'No', 'ON', 'off', 'y', 'N', '012', '0o17', '0x1F', '0b101', '1_000', '1:20', '.inf', '-.Inf', '.nan'])(
    'refuses the plain value %s, which YAML 1.1 and 1.2 read differently',
    (value) => {
      expect(refusal(`a: ${value}\n`)).toMatch(/reads differently in YAML 1.1 and 1.2: quote it/);
      expect(parseYaml(`a: "${value}"\n`)).toEqual({ a: value });
    },
  );
});
