// A real distribution 2.8 registry (Debian's docker-registry) on 127.0.0.1, configured to
// use the edge as its token authentication service: auth.token realm/service/issuer and
// a rootcertbundle with the edge key ring's certificates. Storage is a temp directory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/edge.mjs';
import { startService, waitFor } from './processes.mjs';

/**
 * @param {{ dir: string, realm: string, issuer: string, bundle: string, service?: string }} opts
 *   `service` defaults to the registry's own host:port, as a trust rule's `service` does.
 */
export async function startRegistry({ dir, realm, issuer, bundle, service }) {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const bundleFile = join(dir, 'edge-certs.pem');
  writeFileSync(bundleFile, bundle);
  const config = join(dir, 'config.yml');
  // JSON is YAML: no quoting surprises for the realm URL or the issuer.
  writeFileSync(
    config,
    JSON.stringify(
      {
        version: 0.1,
        log: { level: 'info', accesslog: { disabled: false } },
        storage: { filesystem: { rootdirectory: join(dir, 'data') }, cache: { blobdescriptor: 'inmemory' }, delete: { enabled: false } },
        http: { addr: host, headers: { 'X-Content-Type-Options': ['nosniff'] } },
        auth: { token: { realm, service: service ?? host, issuer, rootcertbundle: bundleFile } },
      },
      null,
      2,
    ),
  );
  const svc = startService('docker-registry', ['serve', config], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
  });
  try {
    await waitFor(
      async () => {
        if (svc.exited()) throw new Error('exited');
        return (await fetch(`http://${host}/v2/`)).status === 401;
      },
      { timeoutMs: 20_000, describe: () => `docker-registry on ${host}:\n${svc.logs()}` },
    );
    if (svc.exited()) throw new Error(`docker-registry exited:\n${svc.logs()}`);
  } catch (err) {
    await svc.stop();
    throw err;
  }
  return { host, url: `http://${host}`, service: service ?? host, logs: svc.logs, stop: svc.stop };
}
