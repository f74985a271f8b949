import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  certificateBundle,
  certifyKeyRing,
  checkKeyRing,
  generateKeyRing,
  generateRsaKey,
  generateSigningKey,
  libtrustKeyId,
  retireKey,
  rotateKeyRing,
} from '../../../scripts/lib/keys.mjs';
import { libtrustKeyId as workerLibtrustKeyId } from '../../../src/signing/libtrust';

const spkiOf = (privateJwk: object) => createPublicKey({ key: privateJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'der' });

describe('generateSigningKey', () => {
  it('returns kid, private JWK and a certificate for that very key', () => {
    const key = generateSigningKey();
    expect(Object.keys(key).sort()).toEqual(['certificate', 'kid', 'privateJwk']);
    expect(Object.keys(key.privateJwk).sort()).toEqual(['crv', 'd', 'kty', 'x', 'y']);
    const cert = new X509Certificate(key.certificate);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(spkiOf(key.privateJwk));
    expect(cert.subject).toContain(key.kid.slice(0, 19));
  });

  it('names the key by the same libtrust id as the Worker computes', async () => {
    const key = generateSigningKey();
    expect(key.kid).toBe(libtrustKeyId(spkiOf(key.privateJwk)));
    expect(key.kid).toBe(await workerLibtrustKeyId(spkiOf(key.privateJwk)));
  });
});

describe('RS256 keys (workload tokens for vendors that take RSA only)', () => {
  it('generates RSA-2048 named by its libtrust id, beside the ES256 key', () => {
    const ring = generateKeyRing();
    expect(ring.rsa.keys).toHaveLength(1);
    const key = ring.rsa.keys[0]!;
    expect(ring.rsa.active).toBe(key.kid);
    expect(Object.keys(key.privateJwk).sort()).toEqual(['d', 'dp', 'dq', 'e', 'kty', 'n', 'p', 'q', 'qi']);
    expect(createPublicKey({ key: key.privateJwk, format: 'jwk' }).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.kid).toBe(libtrustKeyId(spkiOf(key.privateJwk)));
  });

  it('rotates the RSA key alone, keeping the old one retiring and the ES256 keys untouched', () => {
    const ring = generateKeyRing();
    const { ring: rotated, added } = rotateKeyRing(ring, { rsa: true });
    expect(rotated.rsa.active).toBe(added);
    expect(rotated.rsa.keys.map((k: { kid: string }) => k.kid)).toEqual([added, ring.rsa.active]);
    expect(rotated.active).toBe(ring.active);
    expect(rotated.keys).toEqual(ring.keys);
    expect(checkKeyRing(rotated)).toEqual([]);
  });

  it('adds a first RSA key to a ring made before them', () => {
    const { rsa: _none, ...old } = generateKeyRing();
    const { ring, added } = rotateKeyRing(old, { rsa: true });
    expect(ring.rsa).toEqual({ active: added, keys: [expect.objectContaining({ kid: added })] });
  });

  it('retires a retiring RSA key, never the active one', () => {
    const { ring } = rotateKeyRing(generateKeyRing(), { rsa: true });
    expect(() => retireKey(ring, ring.rsa.active)).toThrow(/active key/);
    const old = ring.rsa.keys[1].kid;
    expect(retireKey(ring, old).rsa.keys.map((k: { kid: string }) => k.kid)).toEqual([ring.rsa.active]);
  });

  it.each([
    [
      'an RSA kid that is not the libtrust id',
      (r: any) => {
        r.rsa.keys[0].kid = 'AAAA';
        r.rsa.active = 'AAAA';
      },
      /rsa.keys\[0\]: kid AAAA/,
    ],
    [
      'an RSA key under 2048 bits',
      (r: any) => {
        const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });
        r.rsa.keys[0] = { kid: libtrustKeyId(spkiOf(weak)), privateJwk: weak };
        r.rsa.active = r.rsa.keys[0].kid;
      },
      /at least 2048 bits/,
    ],
    [
      'an EC key among the RSA keys',
      (r: any) => {
        r.rsa.keys[0].privateJwk = generateSigningKey().privateJwk;
      },
      /must be a private RSA key/,
    ],
    [
      'an RSA active kid missing from its keys',
      (r: any) => {
        r.rsa.active = 'ZZZZ';
      },
      /rsa active kid ZZZZ/,
    ],
  ])('reports %s', (_t, spoil, problem) => {
    const ring = generateKeyRing();
    spoil(ring);
    expect(checkKeyRing(ring).join('\n')).toMatch(problem);
  });

  it('makes a key the Worker names the same way', async () => {
    const key = generateRsaKey();
    expect(key.kid).toBe(await workerLibtrustKeyId(spkiOf(key.privateJwk)));
  });
});

describe('key ring maintenance', () => {
  it('finds nothing wrong with a fresh key ring', () => {
    expect(checkKeyRing(generateKeyRing())).toEqual([]);
  });

  it.each([
    [
      'a kid that is not the libtrust id',
      (r: any) => {
        r.keys[0].kid = 'AAAA:BBBB';
        r.active = 'AAAA:BBBB';
      },
      /not the key's libtrust id/,
    ],
    [
      'a certificate for another key',
      (r: any) => {
        r.keys[0].certificate = generateSigningKey().certificate;
      },
      /certificate is for another key/,
    ],
    [
      'a certificate that is not PEM',
      (r: any) => {
        r.keys[0].certificate = 'nope';
      },
      /not a PEM X.509 certificate/,
    ],
    [
      'an active kid missing from keys',
      (r: any) => {
        r.active = 'ZZZZ';
      },
      /active kid ZZZZ is not in keys/,
    ],
    [
      'a public key where a private one belongs',
      (r: any) => {
        delete r.keys[0].privateJwk.d;
      },
      /must be a private EC P-256 key/,
    ],
  ])('reports %s', (_t, spoil, problem) => {
    const ring = generateKeyRing();
    spoil(ring);
    expect(checkKeyRing(ring).join('\n')).toMatch(problem);
  });

  it('rotates: a new active key first, the old one kept as retiring', () => {
    const ring = generateKeyRing();
    const { ring: rotated, added } = rotateKeyRing(ring);
    expect(rotated.active).toBe(added);
    expect(rotated.keys.map((k: { kid: string }) => k.kid)).toEqual([added, ring.active]);
    expect(checkKeyRing(rotated)).toEqual([]);
  });

  it('retires a retiring key but never the active one', () => {
    const { ring } = rotateKeyRing(generateKeyRing());
    expect(() => retireKey(ring, ring.active)).toThrow(/active key/);
    expect(() => retireKey(ring, 'NOPE')).toThrow(/no key/);
    const retired = retireKey(ring, ring.keys[1].kid);
    expect(retired.keys.map((k: { kid: string }) => k.kid)).toEqual([ring.active]);
  });

  it('certifies keys that have no certificate and leaves the others alone', () => {
    const ring = generateKeyRing();
    const before = ring.keys[0]!.certificate;
    const bare = generateSigningKey();
    delete (bare as { certificate?: string }).certificate;
    const { ring: certified, added } = certifyKeyRing({ ...ring, keys: [...ring.keys, bare] });
    expect(added).toEqual([bare.kid]);
    expect(certified.keys[0].certificate).toBe(before);
    expect(checkKeyRing(certified)).toEqual([]);
  });

  it('bundles every certificate, the active key first', () => {
    const { ring } = rotateKeyRing(generateKeyRing());
    const reordered = { ...ring, keys: [...ring.keys].reverse() };
    const bundle = certificateBundle(reordered);
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(bundle.startsWith(ring.keys.find((k: { kid: string }) => k.kid === ring.active).certificate.trim())).toBe(true);
  });
});

describe('npm run keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecp-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const keys = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['scripts/keys.mjs', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });
  const ringFile = join(dir, 'ring.json');
  const ring = () => JSON.parse(readFileSync(ringFile, 'utf8'));

  it('generates a key ring file readable by its owner only and prints only the certificate bundle on stdout', () => {
    const out = keys(['generate', '--ring', ringFile]);
    expect(out.status, out.stderr).toBe(0);
    expect(statSync(ringFile).mode & 0o777).toBe(0o600);
    expect(out.stdout).toBe(certificateBundle(ring()));
    expect(out.stderr).toContain('wrangler secret put EDGE_SIGNING_KEYS');
    expect(out.stdout + out.stderr).not.toContain(ring().keys[0].privateJwk.d);
  });

  it('refuses to overwrite an existing key ring without --force', () => {
    const out = keys(['generate', '--ring', ringFile]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/exists/);
  });

  it('rotates, refuses to retire the active key, then retires the old one', () => {
    const first = ring().active;
    expect(keys(['rotate', '--ring', ringFile]).status).toBe(0);
    const second = ring().active;
    expect(second).not.toBe(first);
    expect(keys(['bundle', '--ring', ringFile]).stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const refused = keys(['retire', second, '--ring', ringFile]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/active key/);
    expect(keys(['retire', first, '--ring', ringFile]).status).toBe(0);
    expect(ring().keys.map((k: { kid: string }) => k.kid)).toEqual([second]);
  });

  it('prints the bundle from EDGE_SIGNING_KEYS in the environment', () => {
    const out = keys(['bundle'], { EDGE_SIGNING_KEYS: JSON.stringify(ring()) });
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(certificateBundle(ring()));
  });

  it('keeps the other lines of a dotenv file such as .dev.vars', () => {
    const devVars = join(dir, '.dev.vars');
    writeFileSync(devVars, "# dev\nADMIN_TOKEN='keep-me'\n");
    expect(keys(['generate', '--ring', devVars]).status).toBe(0);
    expect(keys(['rotate', '--ring', devVars]).status).toBe(0);
    const text = readFileSync(devVars, 'utf8');
    expect(text).toContain("ADMIN_TOKEN='keep-me'");
    const line = /^EDGE_SIGNING_KEYS='(.*)'$/m.exec(text)!;
    expect(checkKeyRing(JSON.parse(line[1]!))).toEqual([]);
    expect(JSON.parse(line[1]!).keys).toHaveLength(2);
  });

  it('checks a key ring and fails on a broken one', () => {
    expect(keys(['check', '--ring', ringFile]).status).toBe(0);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ ...ring(), active: 'NOPE' }));
    const out = keys(['check', '--ring', broken]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/active kid NOPE/);
  });

  it('adds a workload key to a ring made before them with rotate --workload, and check says when one is missing', () => {
    const old = join(dir, 'old-ring.json');
    const { workload: _none, ...before } = ring();
    writeFileSync(old, JSON.stringify(before));
    const checked = keys(['check', '--ring', old]);
    expect(checked.status).toBe(0);
    expect(checked.stderr).toContain('rotate --workload');
    expect(keys(['rotate', '--workload', '--ring', old]).status).toBe(0);
    const after = JSON.parse(readFileSync(old, 'utf8'));
    expect(after.workload.keys).toHaveLength(1);
    expect(after.keys).toEqual(before.keys);
    expect(keys(['check', '--ring', old]).stderr).not.toContain('rotate --workload');
    expect(keys(['rotate', '--workload', '--rsa', '--ring', old]).status).toBe(2);
  });

  it.each([
    ['an unknown command', ['frobnicate']],
    ['no command', []],
  ])('answers %s with the usage on stderr and exit code 2', (_what, args) => {
    const out = keys(args);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/usage: npm run keys/);
    expect(out.stdout).toBe('');
  });

  it('writes --ring FILE relative to the directory npm run was started in (INIT_CWD)', () => {
    const out = keys(['generate', '--ring', 'relative-ring.json'], { INIT_CWD: dir });
    expect(out.status, out.stderr).toBe(0);
    expect(existsSync(join(dir, 'relative-ring.json'))).toBe(true);
  });

  it('prints the usage on stdout for --help and exits 0', () => {
    const out = keys(['--help']);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/usage: npm run keys/);
  });
});

describe('ES256 workload keys (workload tokens, kept apart from the credential key)', () => {
  it('generates a workload key of its own, named by its libtrust id', () => {
    const ring = generateKeyRing();
    const key = ring.workload.keys[0]!;
    expect(ring.workload.active).toBe(key.kid);
    expect(key.kid).not.toBe(ring.active);
    expect(key.kid).toBe(libtrustKeyId(spkiOf(key.privateJwk)));
    expect(checkKeyRing(ring)).toEqual([]);
  });

  it('adds a first workload key to a ring made before them, and rotates it alone', () => {
    const { workload: _none, ...old } = generateKeyRing();
    const { ring, added } = rotateKeyRing(old, { workload: true });
    expect(ring.workload).toEqual({ active: added, keys: [expect.objectContaining({ kid: added })] });
    const { ring: rotated, added: next } = rotateKeyRing(ring, { workload: true });
    expect(rotated.workload.keys.map((k: { kid: string }) => k.kid)).toEqual([next, added]);
    expect(rotated.keys).toEqual(old.keys);
    expect(rotated.rsa).toEqual(old.rsa);
    expect(() => retireKey(rotated, next)).toThrow(/active key/);
    expect(retireKey(rotated, added).workload.keys.map((k: { kid: string }) => k.kid)).toEqual([next]);
  });

  it('refuses a credential key reused as a workload key', () => {
    const ring = generateKeyRing();
    const { kid, privateJwk } = ring.keys[0]!;
    ring.workload = { active: kid, keys: [{ kid, privateJwk }] };
    expect(checkKeyRing(ring).join('\n')).toMatch(/also a credential key/);
  });
});

describe('the seal seed (what the edge derives the seal of its KV values from)', () => {
  it('is in every new ring: 32 random bytes, base64url, different each time', () => {
    const a = generateKeyRing().seal;
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateKeyRing().seal).not.toBe(a);
  });

  it.each([{}, { rsa: true }, { workload: true }])('is kept by a rotation (%o), so a rotation unseals nothing', (opts) => {
    const ring = generateKeyRing();
    expect(rotateKeyRing(ring, opts).ring.seal).toBe(ring.seal);
  });

  it('is added by the first rotation of a ring made before seeds', () => {
    const { seal: _none, ...old } = generateKeyRing();
    const { ring } = rotateKeyRing(old);
    expect(ring.seal).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(checkKeyRing(ring)).toEqual([]);
  });

  it.each([
    ['too short', 'abc'],
    ['not base64url', `${'a'.repeat(42)}+`],
    ['a number', 42],
  ])('is refused by check when %s', (_, seal) => {
    expect(checkKeyRing({ ...generateKeyRing(), seal })).toContain('seal: must be at least 32 bytes, base64url');
  });
});
