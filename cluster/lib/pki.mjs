// The cluster's certificates and keys, made with Debian's openssl as kubernetes'
// hack/local-up-cluster.sh makes them: one CA; the API server's serving certificate for
// 127.0.0.1; client certificates for the admin (O=system:masters), the kubelet
// (CN=system:node:<node>, O=system:nodes) and the API server's calls to the kubelet; an RSA
// service-account signing key. Everything is written once per cluster directory, mode 0600.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Days the certificates are valid: a test cluster lives minutes, a developer's for days. */
const VALID_DAYS = 30;

function openssl(args, input) {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function ecKey(file) {
  if (!existsSync(file)) openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** An RSA key for signing service-account tokens (RS256, the API server's default). */
export function rsaKey(file) {
  if (!existsSync(file)) openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file]);
  const pub = file.replace(/\.key$/, '.pub');
  if (!existsSync(pub)) writeFileSync(pub, openssl(['pkey', '-in', file, '-pubout']));
  return { key: file, pub };
}

/** A certificate signed by the CA; `san` like "IP:127.0.0.1,DNS:localhost". */
function issue(dir, name, { subject, san, usage }) {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  if (existsSync(crt)) return { key, crt };
  ecKey(key);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usage}`,
      ...(san ? [`subjectAltName=${san}`] : []),
    ].join('\n'),
  );
  const csr = openssl(['req', '-new', '-key', key, '-subj', subject]);
  writeFileSync(
    crt,
    openssl(['x509', '-req', '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', String(VALID_DAYS), '-extfile', ext], csr),
  );
  return { key, crt };
}

/**
 * Makes (or reuses) every certificate the cluster needs under `dir`.
 * @param {{ dir: string, node: string }} opts
 */
export function makePki({ dir, node }) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = { key: join(dir, 'ca.key'), crt: join(dir, 'ca.crt') };
  if (!existsSync(ca.crt)) {
    ecKey(ca.key);
    writeFileSync(
      ca.crt,
      openssl([
        'req',
        '-x509',
        '-new',
        '-key',
        ca.key,
        '-subj',
        '/CN=edge-credential-provider test cluster CA',
        '-days',
        String(VALID_DAYS),
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
    );
  }
  return {
    ca,
    apiserver: issue(dir, 'apiserver', {
      subject: '/CN=kube-apiserver',
      san: 'IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc',
      usage: 'serverAuth',
    }),
    admin: issue(dir, 'admin', { subject: '/O=system:masters/CN=ecp-admin', usage: 'clientAuth' }),
    kubelet: issue(dir, 'kubelet', { subject: `/O=system:nodes/CN=system:node:${node}`, usage: 'clientAuth' }),
    kubeletServing: issue(dir, 'kubelet-serving', { subject: `/CN=${node}`, san: `IP:127.0.0.1,DNS:localhost`, usage: 'serverAuth' }),
    apiserverKubeletClient: issue(dir, 'apiserver-kubelet-client', { subject: '/O=system:masters/CN=kube-apiserver-kubelet-client', usage: 'clientAuth' }),
    serviceAccount: rsaKey(join(dir, 'service-account.key')),
  };
}

/** A kubeconfig with the certificates embedded, so it can be copied and `export`ed alone. */
export function writeKubeconfig(file, { server, ca, client, user }) {
  const b64 = (f) => readFileSync(f).toString('base64');
  // JSON is YAML: client-go reads it, and no value needs quoting rules.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ecp', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(client.crt), 'client-key-data': b64(client.key) } }],
    contexts: [{ name: 'ecp', context: { cluster: 'ecp', user } }],
    'current-context': 'ecp',
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}
