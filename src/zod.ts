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
