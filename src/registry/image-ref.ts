/**
 * Image references, parsed with distribution's reference grammar:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component ( "/" path-component )*
 *
 * The first component is a registry host when it contains "." or ":" or is "localhost"
 * (or is a bracketed IPv6 address); otherwise the registry is docker.io, and a single
 * component gets the `library/` prefix. `index.docker.io` is docker.io.
 */
import { BadImage } from '../errors';
import { HOSTNAME, PATH_COMPONENT } from '../grammar';

export interface ImageRef {
  /** Host with optional port, as the kubelet keys credentials: `ghcr.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path on that registry: `team-a/app`, `library/nginx`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * distribution's RepositoryNameTotalLengthMax: a repository path (after the registry host,
 * `library/` included) is at most 255 characters; registries refuse longer names.
 */
export const MAX_NAME_LENGTH = 255;
const MAX_REFERENCE_LENGTH = 4096; // a generous bound before any regex runs

const DOMAIN_RE = new RegExp(`^(?:${HOSTNAME}|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = new RegExp(`^${PATH_COMPONENT}$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** distribution's rule for whether a name's first component is a registry host. */
export function looksLikeDomain(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

export function parseImageRef(input: string): ImageRef {
  if (input.length === 0 || input.length > MAX_REFERENCE_LENGTH) throw new BadImage({ detail: 'empty or oversized image reference' });
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new BadImage({ detail: 'bad digest' });
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new BadImage({ detail: 'bad tag' });
  }
  const components = rest.split('/');
  let registry = 'docker.io';
  if (components.length > 1 && looksLikeDomain(components[0]!)) {
    registry = components.shift()!;
    if (!DOMAIN_RE.test(registry)) throw new BadImage({ detail: 'bad registry host' });
    if (registry === 'index.docker.io') registry = 'docker.io';
  }
  if (components.length === 0 || !components.every((c) => PATH_COMPONENT_RE.test(c))) throw new BadImage({ detail: 'bad repository path' });
  if (registry === 'docker.io' && components.length === 1) components.unshift('library');
  const repository = components.join('/');
  if (repository.length > MAX_NAME_LENGTH) {
    throw new BadImage({
      detail: `repository name of ${repository.length} characters`,
      message: `the repository name is longer than ${MAX_NAME_LENGTH} characters`,
    });
  }
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}
