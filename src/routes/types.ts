import type { Principal } from './admin-auth';
import type { Env } from '../env';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Who is calling the admin API (routes/admin-auth.ts). */
    admin: Principal;
  };
}
