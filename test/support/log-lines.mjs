// The edge's JSON log lines out of a wrangler dev log: each line's first JSON object, read up to
// its closing brace (wrangler may put a prefix before it, and a terminal reset or another
// stream's text after it), for the lines that name `"event":`.

/** The first complete JSON object in `line`, or undefined. */
export function firstJsonObject(line) {
  const start = line.indexOf('{');
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return JSON.parse(line.slice(start, i + 1));
  }
  return undefined;
}

/** Every log line of `logs` that names an event (`event`: only that one), parsed. */
export function eventLines(logs, event) {
  const needle = event ? `"event":"${event}"` : '"event":';
  return logs
    .split('\n')
    .filter((l) => l.includes(needle))
    .map(firstJsonObject)
    .filter((o) => o !== undefined);
}
