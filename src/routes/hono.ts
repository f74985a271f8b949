/**
 * Hono with a router of our own. `Hono` from 'hono' bundles three routers to settle on
 * RegExpRouter for routes like ours; RegExpRouter alone is still 3.7 KB of every cold start and
 * builds its matcher on an isolate's first request. EdgeRouter matches what RegExpRouter
 * matches for the patterns the edge uses, and refuses any other pattern when it is added:
 *
 *   /static/path          exactly that path (strict: no trailing slash)
 *   /a/:name/b            `:name` is one segment, non-empty (`[^/]+`)
 *   /admin/*              `/admin`, `/admin/` and everything under it (middleware and handlers alike)
 *   *  or  /*             every path
 *
 * Handlers come back in the order they were added, as RegExpRouter returns them.
 * test/unit/routes/router.test.ts runs both over every route of the edge and many paths.
 */
import type { Env, Schema } from 'hono';
import { HonoBase } from 'hono/hono-base';
import { type Params, type Result, type Router, UnsupportedPathError } from 'hono/router';

/** The patterns above: segments of text or one `:name` each, an optional trailing `/*`; or `*`. */
const SUPPORTED = /^(\*|(\/(:\w+|[^/:*?{}]*))*(\/\*)?)$/;
/** A segment parameter, a trailing `/*`, or a character a path may hold that a RegExp would read as syntax. */
const PATTERN_PART = /:(\w+)|\/\*$|[.+$^|\\[\]()]/g;

export class EdgeRouter<T> implements Router<T> {
  name = 'EdgeRouter';
  #routes: Array<[RegExp, string, T]> = [];

  add(method: string, path: string, handler: T): void {
    if (!SUPPORTED.test(path)) throw new UnsupportedPathError(path);
    const source =
      path === '*' || path === '/*'
        ? ''
        : path.replace(PATTERN_PART, (part: string, name?: string) => (name ? `(?<${name}>[^/]+)` : part === '/*' ? '(?:|/[^]*)' : `\\${part}`));
    this.#routes.push([new RegExp(`^${source}${source ? '$' : ''}`), method, handler]);
  }

  match(method: string, path: string): Result<T> {
    const handlers: Array<[T, Params]> = [];
    for (const [pattern, on, handler] of this.#routes) {
      if (on !== method && on !== 'ALL') continue;
      const hit = pattern.exec(path);
      if (hit) handlers.push([handler, { ...hit.groups }]);
    }
    return [handlers];
  }
}

// biome-ignore lint/complexity/noBannedTypes: `{}` is Hono's own default for an empty schema.
export class Hono<E extends Env = Env, S extends Schema = {}, BasePath extends string = '/'> extends HonoBase<E, S, BasePath> {
  constructor() {
    super({ router: new EdgeRouter() });
  }
}
