import type { Config } from '../config';
import type { Principal } from './admin-auth';
import type { Env } from '../env';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The parsed settings (config.ts), set by the app's first middleware. */
    config: Config;
    /** Who is calling the admin API (routes/admin-auth.ts). */
    admin: Principal;
  };
}
