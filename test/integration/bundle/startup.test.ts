/**
 * A fresh isolate builds no schema and no admin route when it loads the edge: start-up is
 * what the first pull at a location waits for (README "Cold start"), and zod builds a schema
 * by running cold constructors (~20 ms for all of the edge's). Schemas are `deferred`
 * (src/zod.ts) and the admin API is a pipeline built on its first request (routes/admin.ts);
 * this fails when a module-level schema or route slips back in.
 *
 * How: src/ is bundled by esbuild with `zod/mini` replaced by a copy whose factories
 * (`z.string`, `z.strictObject`, `z.maxLength`, ...) count their calls, and loaded in Node.
 * Node project; no network.
 */
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as zodMini from 'zod/mini';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** zod/mini's factories: the functions a schema is built from (`config` only installs the locale). */
const FACTORIES = Object.keys(zodMini).filter((k) => /^[a-z_]/.test(k) && k !== 'config' && typeof (zodMini as Record<string, unknown>)[k] === 'function');

/** `zod/mini` as src/zod.ts imports it, with every factory counting into globalThis.__zodCalls. */
const countingZod: Plugin = {
  name: 'counting-zod',
  setup(b) {
    b.onResolve({ filter: /^zod\/mini$/ }, (a) => (a.importer.endsWith('/src/zod.ts') ? { path: 'counting-zod', namespace: 'counting' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'counting' }, () => ({
      resolveDir: ROOT,
      contents: [
        "import * as real from 'zod/mini';",
        "export * from 'zod/mini';",
        'const calls = (globalThis.__zodCalls = []);',
        // Some factories are named by reserved words (z.catch): exported under their names, declared as f0, f1, ...
        ...FACTORIES.map(
          (f, i) => `const f${i} = (...a) => { calls.push(${JSON.stringify(f)}); return real[${JSON.stringify(f)}](...a); }; export { f${i} as ${f} };`,
        ),
      ].join('\n'),
    }));
  },
};

async function loadEdge() {
  const out = await build({
    stdin: {
      contents: "export { app } from './src/app.ts'; export { TrustRecordSchema } from './src/policy/schema.ts';",
      resolveDir: ROOT,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
    plugins: [countingZod],
  });
  const g = globalThis as { __zodCalls?: string[] };
  const mod = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`);
  return { ...mod, calls: g.__zodCalls! };
}

describe('edge start-up', () => {
  it('builds no schema and registers no admin route when the module loads; both happen on first use', async () => {
    expect(FACTORIES).toEqual(expect.arrayContaining(['string', 'strictObject', 'discriminatedUnion', 'maxLength', 'regex']));
    const { app, TrustRecordSchema, calls } = await loadEdge();
    const adminRoutes = () => app.routes.filter((r: { path: string }) => r.path.startsWith('/admin/')).length;

    expect(calls, `zod factories called while the edge loaded: ${calls.slice(0, 20).join(', ')}`).toEqual([]);
    expect(adminRoutes()).toBe(1); // the one route that builds the admin pipeline

    // The counting works, and a deferred schema is built when first used.
    expect(TrustRecordSchema.safeParse({}).success).toBe(false);
    expect(calls.length).toBeGreaterThan(0);
  });
});
