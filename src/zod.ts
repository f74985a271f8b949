/**
 * zod for every schema in src/: `zod/mini`, the tree-shakable build (functional checks:
 * `z.string().check(z.maxLength(n))`), so the bundle carries only what the schemas use. The
 * classic `zod` puts ~450 KB (minified) in the Worker, all of it parsed at cold start.
 *
 * Import it as a namespace, `import * as z from './zod'`: esbuild drops the unused parts of a
 * namespace import, but `import { z } from 'zod/mini'` binds zod's own namespace object and
 * keeps all of zod (locales, JSON Schema, the compiler) in the bundle.
 *
 * `zod/mini` loads no locale: without one every issue's message is "Invalid input". English is
 * installed here, as the classic build does, so the issues the admin API returns read the same.
 * Schemas import zod from here, not from 'zod/mini', so that none parses before this has run.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';

/**
 * A schema built on its first use instead of when its module loads. zod builds a schema by
 * running its constructors, which on a fresh isolate run as cold code: every schema of the
 * edge built at start-up cost ~20 ms of CPU, most of it for schemas a pull never uses (the
 * admin API's, explain's). Every module-level schema in src/ is declared through this
 * (test/unit/layout.test.ts checks), so an isolate builds only the schemas its requests need.
 *
 * The value stands in for the schema itself (same type, same methods): `X.safeParse(v)`,
 * `z.array(X)` and `z.infer<typeof X>` work unchanged. Reading any property builds it once.
 */
export function deferred<T extends object>(build: () => T): T {
  let schema: T | undefined;
  const built = () => (schema ??= build());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(built(), key),
    has: (_, key) => Reflect.has(built(), key),
    set: (_, key, value) => Reflect.set(built(), key, value),
    ownKeys: () => Reflect.ownKeys(built()),
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(built(), key);
      // A proxy may not report a property as non-configurable unless its target has it so.
      return d && { ...d, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(built()),
  });
}
