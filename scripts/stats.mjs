#!/usr/bin/env node
// `npm run stats -- [--since 1h] [--only clusters,refusals,...] [--dataset NAME] [--json]`: the
// on-call questions about the edge (which clusters, which rules, which vendor, since when, how
// fast) from its Workers Analytics Engine dataset, through the SQL API, printed as tables.
// Queries and layout: scripts/lib/stats.mjs, docs/observability.md.
//
// Environment: CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (an API token with Account
// Analytics Read), as wrangler reads them; CLOUDFLARE_API_BASE_URL to send elsewhere (https, or
// http to a loopback address). The token is sent to that API only, never printed.
// Exit codes: 0 printed; 1 a query failed; 2 usage (missing environment, bad option).
import { run } from './lib/stats.mjs';

process.exitCode = await run({ argv: process.argv.slice(2), env: process.env, fetch, stdout: process.stdout, stderr: process.stderr });
