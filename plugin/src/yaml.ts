/**
 * A tiny YAML writer for the generated config: maps, lists, strings, booleans, numbers, null.
 * Strings are always written as JSON strings, which YAML reads as double-quoted scalars,
 * so no value can turn into a boolean, a number or a comment by accident; so are keys that
 * are not plain words (install rewrites other providers' entries too).
 */
type Value = string | number | boolean | null | Value[] | { [key: string]: Value | undefined };

function scalar(v: string | number | boolean | null): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

const keyOf = (key: string) => (/^[A-Za-z_][\w./-]*$/.test(key) ? key : JSON.stringify(key));

function lines(value: Value, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      if (typeof item === 'object' && item !== null) {
        const [first = '', ...rest] = lines(item, `${indent}  `);
        return [`${indent}- ${first.trimStart()}`, ...rest];
      }
      return [`${indent}- ${scalar(item)}`];
    });
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([name, v]) => {
      const key = keyOf(name);
      if (v === undefined) return [];
      if (typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
        return [`${indent}${key}:`, ...lines(v, `${indent}  `)];
      }
      if (typeof v === 'object' && v !== null) return [`${indent}${key}: ${Array.isArray(v) ? '[]' : '{}'}`];
      return [`${indent}${key}: ${scalar(v)}`];
    });
  }
  return [`${indent}${scalar(value)}`];
}

export function toYaml(value: object): string {
  return `${lines(value as Value, '').join('\n')}\n`;
}
