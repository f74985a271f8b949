/**
 * Registry token-auth scopes (distribution docs/spec/auth/scope.md): the grammar, and the
 * intersection of what a client asks for with what an edge credential grants. Pure.
 *
 *   scope          := resourcescope [ ' ' resourcescope ]*
 *   resourcescope  := resourcetype ":" resourcename ":" action [ ',' action ]*
 *   resourcetype   := resourcetypevalue [ '(' resourcetypevalue ')' ]     e.g. repository(plugin)
 *   resourcename   := [ hostname '/' ] component [ '/' component ]*       e.g. 127.0.0.1:5000/team-a/app
 *   hostname       := hostcomponent [ '.' hostcomponent ]* [ ':' port-number ]
 *   action         := lowercase letters and '*', possibly none
 *
 * A resource name may hold one ':' (a port), so the type is what precedes the first ':'
 * and the actions what follows the last one.
 *
 * Decisions (docs/registry.md):
 * - A scope that does not match the grammar is a malformed request: 400 (RFC 6749 §5.2
 *   `invalid_scope` for the OAuth2 form; the same for GET, so both forms agree). containerd
 *   retries a 400 POST as GET, which then fails the same way: loud, not a silent empty grant.
 *   So is a repository path over distribution's 255 characters: no registry holds one.
 * - A well-formed scope the edge never grants (`registry:catalog:*`, unknown types, actions
 *   other than pull and push) is simply not granted: partial or empty grants are not errors.
 * - The resource class is deprecated and ignored (`repository(plugin)` is `repository`);
 *   granted access never carries one, as the spec asks of authorization services.
 */
import { BadRequest } from '../errors';
import { anyOf, compileRepositoryGlob, type Matcher } from '../policy/pattern';
import { HOSTNAME, PATH_COMPONENT } from '../grammar';
import { ACTIONS, type Action, type Grant } from '../policy/grant';
import { looksLikeDomain, MAX_NAME_LENGTH } from './image-ref';

export interface ResourceScope {
  type: string;
  /** Deprecated resource class, e.g. `plugin`; kept for the audit log only. */
  class?: string;
  name: string;
  /** As requested, deduplicated, in request order; may be empty (`action` may be empty). */
  actions: string[];
}

/** One entry of a registry token's `access` claim. */
export interface Access {
  type: 'repository';
  name: string;
  actions: Action[];
}

/** A docker client asks for a handful (pull, push, cross-repo mount); 64 is generous. */
export const MAX_SCOPES = 64;
/** distribution's name limit is 255 (MAX_NAME_LENGTH); a type, a host prefix and actions fit in 512. */
export const MAX_SCOPE_LENGTH = 512;

const TYPE_RE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const NAME_RE = new RegExp(`^(?:${HOSTNAME}(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const ACTION_RE = /^[a-z*]*$/;

function malformed(why: string, scope: string): never {
  throw new BadRequest({ detail: `malformed scope (${why}): ${JSON.stringify(scope.slice(0, 120))}`, message: 'malformed scope' });
}

/** Parses one resource scope, e.g. `repository:team-a/app:pull,push`. Throws BadRequest. */
export function parseResourceScope(scope: string): ResourceScope {
  if (scope.length > MAX_SCOPE_LENGTH) malformed('too long', scope);
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first === -1 || last === first) malformed('needs type:name:actions', scope);
  const typeMatch = TYPE_RE.exec(scope.slice(0, first));
  if (!typeMatch) malformed('bad resource type', scope);
  const name = scope.slice(first + 1, last);
  if (!NAME_RE.test(name)) malformed('bad resource name', scope);
  // As for image references, the limit is on the repository path, not on a host before it.
  const slash = name.indexOf('/');
  const path = slash !== -1 && looksLikeDomain(name.slice(0, slash)) ? name.slice(slash + 1) : name;
  if (path.length > MAX_NAME_LENGTH) {
    throw new BadRequest({
      detail: `scope name of ${path.length} characters: ${JSON.stringify(scope.slice(0, 120))}`,
      message: `malformed scope: a repository name is at most ${MAX_NAME_LENGTH} characters`,
    });
  }
  const actions: string[] = [];
  for (const action of scope.slice(last + 1).split(',')) {
    if (!ACTION_RE.test(action)) malformed('bad action', scope);
    if (action !== '' && !actions.includes(action)) actions.push(action);
  }
  const [, type, cls] = typeMatch;
  return { type: type!, ...(cls ? { class: cls } : {}), name, actions };
}

/**
 * Parses scope parameters: GET repeats `scope`, POST sends one space-separated list; both
 * arrive here as a list of strings, each split on spaces. Empty entries are ignored.
 */
export function parseScopes(values: readonly string[]): ResourceScope[] {
  const scopes = values.flatMap((v) => v.split(' ')).filter((s) => s !== '');
  if (scopes.length > MAX_SCOPES) throw new BadRequest({ detail: `${scopes.length} scopes`, message: `at most ${MAX_SCOPES} scopes per request` });
  return scopes.map(parseResourceScope);
}

/** Compiled repository patterns: a credential carries a handful, the same on every request. */
const globCache = new Map<string, Matcher>();
const MAX_CACHED_GLOBS = 1024;
function cachedRepositoryGlob(pattern: string): Matcher {
  let matcher = globCache.get(pattern);
  if (!matcher) {
    matcher = compileRepositoryGlob(pattern);
    if (globCache.size >= MAX_CACHED_GLOBS) globCache.clear();
    globCache.set(pattern, matcher);
  }
  return matcher;
}

/**
 * The access a token may carry: for each requested repository, the requested actions that
 * some grant whose patterns match the name allows. Repositories asked for twice are merged;
 * names with nothing granted are left out; other resource types are never granted.
 */
export function intersect(requested: readonly ResourceScope[], grants: readonly Grant[]): Access[] {
  const compiled = grants.map((g) => ({ matches: anyOf(g.repositories.map(cachedRepositoryGlob)), actions: new Set<string>(g.actions) }));
  const byName = new Map<string, Set<Action>>();
  for (const scope of requested) {
    if (scope.type !== 'repository') continue;
    const allowed = new Set<string>();
    for (const g of compiled) if (g.matches(scope.name)) for (const a of g.actions) allowed.add(a);
    const granted = ACTIONS.filter((a) => scope.actions.includes(a) && allowed.has(a));
    if (granted.length === 0) continue;
    const set = byName.get(scope.name) ?? new Set<Action>();
    for (const a of granted) set.add(a);
    byName.set(scope.name, set);
  }
  return [...byName].map(([name, set]) => ({ type: 'repository', name, actions: ACTIONS.filter((a) => set.has(a)) }));
}

/** Scope-list form of granted access, for the OAuth2 response's `scope` field. */
export function formatScopes(access: readonly Access[]): string {
  return access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' ');
}
