#!/usr/bin/env node
// npm run cluster -- up [--version 1.37] [--edge URL] [--match-image PATTERN]... [--audience A]
//                      [--cache-type ServiceAccount|Token] [--dir DIR] [--no-node-rbac] [--retain]
// npm run cluster -- status [--dir DIR]
// npm run cluster -- down [--dir DIR] [--retain]
// npm run cluster -- build [--version 1.37]     (only build the binaries into the cache)
import { parseArgs } from 'node:util';
import { buildPeers, cacheDir, NEWEST, RELEASES } from './lib/build.mjs';
import { DEFAULT_AUDIENCE, DEFAULT_DIR, down, status, up } from './lib/cluster.mjs';

const USAGE = `usage: npm run cluster -- <up|status|down|build> [flags]
  up       build what is missing (cached in ${cacheDir()}), start etcd, kube-apiserver,
           containerd and the kubelet on 127.0.0.1; prints KUBECONFIG=<path>, the issuer, the logs
             --version 1.N         ${Object.keys(RELEASES).join(' or ')} (default ${NEWEST})
             --edge URL            the edge the plugin calls (default http://127.0.0.1:8787, npm start's)
             --match-image P       repeatable (default 127.0.0.1:5000)
             --audience A          the token audience (default ${DEFAULT_AUDIENCE})
             --cache-type T        ServiceAccount (default) or Token
             --no-node-rbac        leave out the node's audience grant (pulls then fail, as documented)
             --controllers         also run kube-controller-manager and kube-scheduler (DaemonSets, helm install)
             --retain              keep the directory after a failed start, for its logs
  status   which components run, KUBECONFIG, issuer, logs
  down     stop every process the cluster started, unmount, remove the directory (--retain keeps it)
  build    only build the binaries
  --dir D  the cluster's directory (default ${DEFAULT_DIR})`;

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      version: { type: 'string', default: NEWEST },
      edge: { type: 'string', default: 'http://127.0.0.1:8787' },
      'match-image': { type: 'string', multiple: true, default: ['127.0.0.1:5000'] },
      audience: { type: 'string', default: DEFAULT_AUDIENCE },
      'cache-type': { type: 'string', default: 'ServiceAccount' },
      'no-node-rbac': { type: 'boolean', default: false },
      controllers: { type: 'boolean', default: false },
      retain: { type: 'boolean', default: false },
      dir: { type: 'string', default: DEFAULT_DIR },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
const { values: v, positionals } = parsed;
const command = positionals[0];
if (v.help) {
  console.log(USAGE);
  process.exit(0);
}
if (positionals.length !== 1 || !['up', 'status', 'down', 'build'].includes(command ?? '')) {
  console.error(`${command ? `unknown command ${JSON.stringify(command)}` : 'missing command'}\n${USAGE}`);
  process.exit(2);
}
if (!RELEASES[v.version]) {
  console.error(`--version must be one of ${Object.keys(RELEASES).join(', ')}`);
  process.exit(2);
}

try {
  if (command === 'build') {
    const peers = await buildPeers({ release: v.version, log: (s) => process.stderr.write(s) });
    for (const [k, path] of Object.entries(peers)) console.log(`${k}: ${path}`);
  } else if (command === 'up') {
    const started = Date.now();
    const cluster = await up({
      dir: v.dir,
      release: v.version,
      retain: v.retain,
      nodeRbac: !v['no-node-rbac'],
      controllers: v.controllers,
      provider: { edge: v.edge, matchImages: v['match-image'], audience: v.audience, cacheType: v['cache-type'] },
      log: (s) => process.stderr.write(s),
      verboseBuild: true,
    });
    cluster.api.close();
    console.log(`KUBECONFIG=${cluster.kubeconfig}`);
    console.log(`issuer: ${cluster.issuer}`);
    console.log(`logs: ${v.dir}/logs`);
    console.log(`up in ${Math.round((Date.now() - started) / 1000)} s; the kubelet calls ${v.edge} for ${v['match-image'].join(', ')}`);
  } else if (command === 'status') {
    const s = status(v.dir);
    for (const line of s.lines) console.log(line);
    process.exit(s.running ? 0 : 1);
  } else {
    for (const line of await down(v.dir, { retain: v.retain })) console.log(line);
  }
} catch (err) {
  console.error(`cluster ${command}: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
