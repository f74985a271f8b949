/**
 * Keeping secrets off stderr. Every line the plugin writes there passes through a Redactor
 * that knows the request's service-account token and the passwords in the edge's answer, and
 * also masks anything shaped like a JWT. A token is referred to by a short SHA-256
 * fingerprint only.
 */
// node:crypto is loaded only when a fingerprint is asked for (verbose mode): the plugin
// starts on every image pull, and most runs never need it.
declare function require(id: 'node:crypto'): typeof import('node:crypto');

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
/** Shorter strings are too likely to occur by chance to be worth masking (and leak little). */
const MIN_SECRET_LENGTH = 6;

export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret && secret.length >= MIN_SECRET_LENGTH) this.secrets.add(secret);
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out.replace(JWT_SHAPE, '[redacted-jwt]');
  }
}

/** "sha256:0123456789ab": enough to tell tokens apart in a log, useless to an attacker. */
export function fingerprint(secret: string): string {
  return `sha256:${require('node:crypto').createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}
