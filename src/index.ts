import { app } from './app';

export default app;
// The admin writer Durable Object (wrangler.toml): the runtime finds its class here.
export { AdminWriter } from './store/writer';
