import { describe, expect, it } from 'vitest';
import { libtrustKeyId } from '../../../src/signing/libtrust';

describe('libtrustKeyId', () => {
  it('formats 240 bits of sha256(spki) as 12 base32 groups of 4', async () => {
    const { publicKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const spki = (await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer;
    const kid = await libtrustKeyId(spki);
    expect(kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  });
});
