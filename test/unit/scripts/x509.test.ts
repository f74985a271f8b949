import { createHash, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSelfSignedCertificate, der } from '../../../scripts/lib/x509.mjs';

const hex = (b: Buffer) => b.toString('hex');

describe('der', () => {
  it.each([
    ['zero', [0x00], '020100'],
    ['a small positive number', [0x7f], '02017f'],
    ['a number whose top bit is set, padded to stay positive', [0x80], '02020080'],
    ['leading zero bytes, trimmed to the minimal form', [0x00, 0x00, 0x01], '020101'],
    ['a zero byte kept before a high byte', [0x00, 0x00, 0xff], '020200ff'],
  ])('encodes %s as an unsigned INTEGER', (_t, bytes, expected) => {
    expect(hex(der.unsignedInteger(Buffer.from(bytes)))).toBe(expected);
  });

  it.each([
    [0, '0400'],
    [127, '047f'],
    [128, '048180'],
    [200, '0481c8'],
    [300, '0482012c'],
    [70_000, '0483011170'],
  ])('writes a %i-byte length in the shortest form', (n, prefix) => {
    expect(hex(der.octetString(Buffer.alloc(n))).slice(0, prefix.length)).toBe(prefix);
  });

  it.each([
    ['1.2.840.10045.4.3.2', '06082a8648ce3d040302'], // ecdsa-with-SHA256
    ['2.5.4.3', '0603550403'], // commonName
    ['2.5.29.19', '0603551d13'], // basicConstraints
    ['1.2.840.10045.2.1', '06072a8648ce3d0201'], // id-ecPublicKey
  ])('encodes the OID %s', (oid, expected) => {
    expect(hex(der.oid(oid))).toBe(expected);
  });

  it.each([
    ['UTCTime through 2049', '2049-12-31T23:59:59.500Z', '170d3439313233313233353935395a'],
    ['GeneralizedTime from 2050', '2050-01-01T00:00:00Z', '180f32303530303130313030303030305a'],
    ['UTCTime from 1950', '1950-01-01T00:00:00Z', '170d3530303130313030303030305a'],
  ])('writes %s', (_t, iso, expected) => {
    expect(hex(der.time(new Date(iso)))).toBe(expected);
  });

  it('encodes BIT STRINGs with their unused-bit count and BOOLEAN true as 0xff', () => {
    expect(hex(der.bitString([0x84], 2))).toBe('03020284');
    expect(hex(der.boolean(true))).toBe('0101ff');
    expect(hex(der.sequence(der.boolean(true), der.smallInteger(2)))).toBe('30060101ff020102');
  });
});

describe('createSelfSignedCertificate', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = new Date('2030-06-01T12:00:00Z');
  const pem = createSelfSignedCertificate({ privateKey, commonName: 'edge-credential-provider test', days: 30, now });
  const cert = new X509Certificate(pem);

  it('makes a certificate that an X.509 parser reads and whose signature verifies with its own key', () => {
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
  });

  it('holds the signing key and names it as subject and issuer', () => {
    expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
    expect(cert.subject).toBe('CN=edge-credential-provider test');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(true);
  });

  it('is valid from an hour before now for the given number of days', () => {
    expect(new Date(cert.validFrom).toISOString()).toBe('2030-06-01T11:00:00.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2030-07-01T12:00:00.000Z');
  });

  it('has a positive 16-byte serial number, different each time', () => {
    expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    const again = new X509Certificate(createSelfSignedCertificate({ privateKey, commonName: 'x', now }));
    expect(again.serialNumber).not.toBe(cert.serialNumber);
  });

  it('carries a subject key identifier: SHA-1 of the public key bits', () => {
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const keyId = createHash('sha1')
      .update(spki.subarray(spki.length - 65))
      .digest(); // P-256: the 65-byte point
    // extnID 2.5.29.14, then OCTET STRING { OCTET STRING keyId }
    const extension = Buffer.from('0603551d0e', 'hex');
    expect(cert.raw.includes(Buffer.concat([extension, Buffer.from([0x04, 0x16, 0x04, 0x14]), keyId]))).toBe(true);
  });

  it('refuses keys other than EC P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(() => createSelfSignedCertificate({ privateKey: rsa, commonName: 'x' })).toThrow(/P-256/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(() => createSelfSignedCertificate({ privateKey: p384, commonName: 'x' })).toThrow(/P-256/);
  });
});
