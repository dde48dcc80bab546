// Image references as Docker reads them: `[domain/]path[:tag][@digest]`, normalised the way the
// docker CLI shows and sends them (`busybox` is `docker.io/library/busybox:latest`).
import { InvalidArgument } from '../errors.ts';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_MAX = 255;

// The grammar of distribution/reference, as regular expressions.
const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const host = `(?:${domainName}|${ipv6})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const name = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;
const referenceRe = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);
const hexId = /^[a-f0-9]{64}$/;

export interface Reference {
  /** Registry host[:port], `docker.io` for Docker Hub. */
  domain: string;
  /** Repository path within the registry, `library/busybox` for official images. */
  path: string;
  tag?: string;
  /** `sha256:…` */
  digest?: string;
}

/** Errors with Docker's own wording: clients and users match on it. */
function invalid(message = 'invalid reference format'): InvalidArgument {
  return new InvalidArgument(message);
}

/**
 * Parses a reference as the docker CLI and Docker's API accept it, filling in Docker Hub and
 * `library/` for short names. The tag stays unset when not given (see `withDefaultTag`).
 */
export function parseNormalizedReference(input: string): Reference {
  if (input === '') throw invalid('invalid reference format: repository name must have at least one component');
  if (hexId.test(input)) throw invalid(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  const [domain, rest] = splitDomain(input);
  // Docker checks case first, on the name up to the first colon
  const remoteName = rest.split(':')[0]!;
  if (remoteName.toLowerCase() !== remoteName) throw invalid('invalid reference format: repository name must be lowercase');
  const m = referenceRe.exec(`${domain}/${rest}`);
  if (!m) throw invalid();
  const remainder = rest.replace(/@.*$/, '').replace(/:[^/]*$/, '');
  if (`${domain}/${remainder}`.length > NAME_MAX) throw invalid(`invalid reference format: repository name must not be more than ${NAME_MAX} characters`);
  const ref: Reference = { domain, path: remainder };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) ref.digest = m[3];
  return ref;
}

/** Docker's rule: the first component is a registry if it has a dot or a port, or is localhost. */
function splitDomain(input: string): [string, string] {
  const i = input.indexOf('/');
  let domain = DEFAULT_DOMAIN;
  let rest = input;
  if (i >= 0) {
    const first = input.slice(0, i);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      rest = input.slice(i + 1);
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_REPO_PREFIX + rest;
  return [domain, rest];
}

/** A tag-less, digest-less reference gets `latest`, as `docker pull busybox` does. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full form: `docker.io/library/busybox:latest@sha256:…`. */
export function referenceString(ref: Reference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The short form Docker shows: `busybox`, `user/app`, `127.0.0.1:5000/library/web`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !ref.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')
    ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
    : ref.path;
}

/** `busybox:latest`, `127.0.0.1:5000/library/web@sha256:…` */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** A tag on its own, as `POST /images/{name}/tag?tag=` takes it. */
export function validateTag(t: string): string {
  if (!new RegExp(`^${tag}$`).test(t)) throw invalid(`invalid tag format`);
  return t;
}

/** `sha256:<64 hex>` digests, the only kind berth stores. */
export function isSha256Digest(d: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(d);
}
