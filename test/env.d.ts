// Types for `cloudflare:workers` env and exports inside the workerd test pool.
type EdgeEnv = import('../src/env').Env;
type EdgeMain = typeof import('../src/index');

declare namespace Cloudflare {
  interface Env extends EdgeEnv {}
  interface GlobalProps {
    mainModule: EdgeMain;
  }
}
