/**
 * Hono with its RegExpRouter alone. `Hono` from 'hono' also bundles SmartRouter and
 * TrieRouter, only to settle on RegExpRouter for routes like ours (static paths and simple
 * parameters); leaving them out keeps ~3 KB out of every cold start. Same matching, same
 * strict trailing-slash handling. RegExpRouter refuses a route it cannot compile when the
 * first request builds it, which every test run does.
 */
import type { Env, Schema } from 'hono';
import { HonoBase } from 'hono/hono-base';
import { RegExpRouter } from 'hono/router/reg-exp-router';

// biome-ignore lint/complexity/noBannedTypes: `{}` is Hono's own default for an empty schema.
export class Hono<E extends Env = Env, S extends Schema = {}, BasePath extends string = '/'> extends HonoBase<E, S, BasePath> {
  constructor() {
    super({ router: new RegExpRouter() });
  }
}
