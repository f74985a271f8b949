// A self-signed X.509 certificate for an EC P-256 signing key, built with node:crypto and a
// small DER encoder: no openssl, no npm dependency. The certificate is only a vehicle that
// puts the edge's public key into a registry's `rootcertbundle` (distribution 2.x/3.x) and
// into the registry token's `x5c` header; nothing about it is secret.
//
//   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
//   TBSCertificate ::= SEQUENCE { [0] version v3, serialNumber, signature, issuer, validity,
//                                 subject, subjectPublicKeyInfo, [3] extensions }   (RFC 5280 §4.1)
import { createHash, createPublicKey, randomBytes, sign } from 'node:crypto';

// ---- DER encoding (X.690), only what a certificate needs ----

function length(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag, content) => Buffer.concat([Buffer.from([tag]), length(content.length), content]);

export const der = {
  sequence: (...items) => tlv(0x30, Buffer.concat(items)),
  set: (...items) => tlv(0x31, Buffer.concat(items)),
  /** A non-negative INTEGER from big-endian bytes: minimal, with a 0x00 pad if the top bit is set. */
  unsignedInteger(bytes) {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.subarray(i);
    return tlv(0x02, trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed));
  },
  smallInteger: (n) => der.unsignedInteger(Buffer.from([n])),
  boolean: (v) => tlv(0x01, Buffer.from([v ? 0xff : 0x00])),
  oid(dotted) {
    const arcs = dotted.split('.').map(Number);
    const out = [40 * arcs[0] + arcs[1]];
    for (const arc of arcs.slice(2)) {
      const chunk = [arc & 0x7f];
      for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
      out.push(...chunk);
    }
    return tlv(0x06, Buffer.from(out));
  },
  utf8String: (s) => tlv(0x0c, Buffer.from(s, 'utf8')),
  octetString: (bytes) => tlv(0x04, Buffer.from(bytes)),
  /** BIT STRING of whole bytes, or with `unusedBits` trailing zero bits in the last byte. */
  bitString: (bytes, unusedBits = 0) => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), Buffer.from(bytes)])),
  /** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
  time(date) {
    const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
    const year = date.getUTCFullYear();
    return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
  },
  explicit: (n, content) => tlv(0xa0 | n, content),
};

// ---- DER reading: just enough to take the public key bits out of a SubjectPublicKeyInfo ----

function readTlv(buf, offset) {
  const tag = buf[offset];
  let len = buf[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  return { tag, start, end: start + len };
}

/** The subjectPublicKey BIT STRING's bytes (without the unused-bits octet). */
function subjectPublicKeyBits(spki) {
  const outer = readTlv(spki, 0);
  const algorithm = readTlv(spki, outer.start);
  const bits = readTlv(spki, algorithm.end);
  if (outer.tag !== 0x30 || algorithm.tag !== 0x30 || bits.tag !== 0x03) throw new Error('not a SubjectPublicKeyInfo');
  return spki.subarray(bits.start + 1, bits.end);
}

// ---- the certificate ----

const OID = {
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
};

/** Default certificate validity, 3650 days: the bundle is a trust anchor, and an expired
 * one makes the registry refuse every token; rotate keys on their own schedule instead. */
export const DEFAULT_CERT_DAYS = 3650;
/** notBefore is set this far in the past so a registry whose clock lags still accepts it. */
const BACKDATE_MS = 60 * 60 * 1000;

const extension = (oid, critical, value) => der.sequence(der.oid(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));

/**
 * @param {{ privateKey: import('node:crypto').KeyObject, commonName: string, days?: number, now?: Date }} opts
 * @returns {string} PEM
 */
export function createSelfSignedCertificate({ privateKey, commonName, days = DEFAULT_CERT_DAYS, now = new Date() }) {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('only EC P-256 keys are supported');
  }
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive
  serial[0] |= 0x40; // and never shorter than 16 bytes, never zero
  const name = der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(commonName))));
  const signatureAlgorithm = der.sequence(der.oid(OID.ecdsaWithSHA256)); // parameters absent (RFC 5758 §3.2)
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
  // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
  const keyId = createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
  const extensions = der.sequence(
    extension(OID.basicConstraints, true, der.sequence(der.boolean(true))), // cA: a self-signed trust anchor
    extension(OID.keyUsage, true, der.bitString([0x84], 2)), // digitalSignature (0) | keyCertSign (5)
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)),
  );
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serial),
    signatureAlgorithm,
    name, // issuer = subject: self-signed
    der.sequence(der.time(notBefore), der.time(notAfter)),
    name,
    spki,
    der.explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER Ecdsa-Sig-Value, as X.509 wants
  const certificate = der.sequence(tbs, signatureAlgorithm, der.bitString(signature));
  return toPem(certificate);
}

export function toPem(derBytes) {
  const lines = Buffer.from(derBytes)
    .toString('base64')
    .match(/.{1,64}/g);
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
