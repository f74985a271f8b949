import type { Context } from 'hono';
import type { EdgeError } from '../errors';
import type { Env } from '../env';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** A route's own error wire format (the registry token endpoint's). */
    formatError?: (c: Context<AppEnv>, err: EdgeError) => Response;
  };
}
