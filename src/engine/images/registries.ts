// Where an image reference is fetched from, and how: registries.conf's [[registry]] entries
// (prefix match, location rewrite, mirrors first, blocked, insecure), Docker's rule that loopback
// registries are insecure, Docker Hub's real endpoint, certs.d TLS material, and the credentials
// a client sends in X-Registry-Auth. Every registry-facing operation starts here.
import { registryTls } from '../../config/certs.ts';
import { emptyRegistriesConfig, loadRegistriesConfig, registriesConfFiles, type RegistriesConfig, type RegistryEntry } from '../../config/registries.ts';
import type { EngineContext } from '../context.ts';
import { Forbidden, InvalidArgument, SystemError } from '../errors.ts';
import { DEFAULT_DOMAIN, type Reference } from './reference.ts';
import { RegistryClient, type Credentials, type FetchedManifest } from './registry-client.ts';
import { createHash } from 'node:crypto';
import { BERTH_VERSION } from '../../version.ts';

/** Docker Hub's registry API lives on another host than the name users write. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';

export interface RegistrySource {
  /** host[:port] to talk to */
  host: string;
  /** the repository path on that host */
  repository: string;
  insecure: boolean;
  /** a mirror rather than the reference's own registry (credentials are not sent there) */
  mirror: boolean;
}

export async function registriesConfig(engine: EngineContext): Promise<RegistriesConfig> {
  const files = engine.registriesConf ?? registriesConfFiles();
  try {
    return loadRegistriesConfig(files);
  } catch (err) {
    if (engine.registriesConf) throw err;
    return emptyRegistriesConfig(); // a broken system file must not stop pulls from working registries
  }
}

/** Docker's default: `localhost`, `127.0.0.0/8` and `::1` registries speak plain http. */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The [[registry]] entry with the longest prefix matching `name` (`host/path`), as containers-image picks it. */
export function matchRegistry(conf: RegistriesConfig, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) {
    if (!prefixMatches(r.prefix, name)) continue;
    if (!best || r.prefix.length > best.prefix.length) best = r;
  }
  return best;
}

function prefixMatches(prefix: string, name: string): boolean {
  if (prefix.startsWith('*.')) {
    const host = name.split('/')[0]!;
    return host.endsWith(prefix.slice(1));
  }
  return name === prefix || name.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`) || name.startsWith(`${prefix}:`) || name.startsWith(`${prefix}@`);
}

function splitHost(location: string): [string, string] {
  const i = location.indexOf('/');
  return i < 0 ? [location, ''] : [location.slice(0, i), location.slice(i + 1)];
}

function endpointHost(host: string): string {
  return host === DEFAULT_DOMAIN ? DOCKER_HUB_REGISTRY : host;
}

/** Where to pull `ref` from, in order: mirrors, then the (possibly relocated) registry itself. */
export function pullSources(conf: RegistriesConfig, ref: Reference): RegistrySource[] {
  const name = `${ref.domain}/${ref.path}`;
  const entry = matchRegistry(conf, name);
  if (!entry) {
    return [{ host: endpointHost(ref.domain), repository: ref.path, insecure: isLoopbackRegistry(ref.domain), mirror: false }];
  }
  if (entry.blocked) throw new Forbidden(`registry ${ref.domain} is blocked in registries.conf`);
  const rewrite = (location: string, insecure: boolean, mirror: boolean): RegistrySource => {
    const rest = entry.prefix.startsWith('*.') ? name : name.slice(entry.prefix.length).replace(/^\//, '');
    const full = entry.prefix.startsWith('*.') ? name : [location.replace(/\/$/, ''), rest].filter(Boolean).join('/');
    const [host, repository] = splitHost(full);
    return { host: endpointHost(host), repository, insecure: insecure || isLoopbackRegistry(host), mirror };
  };
  return [...entry.mirrors.map((m) => rewrite(m.location, m.insecure, true)), rewrite(entry.location || entry.prefix, entry.insecure, false)];
}

/** The source to push `ref` to: its own registry (mirrors are for pulling). */
export function pushSource(conf: RegistriesConfig, ref: Reference): RegistrySource {
  return pullSources(conf, ref).find((s) => !s.mirror)!;
}

/** Docker's X-Registry-Auth: base64url (or plain base64) JSON of an AuthConfig; empty means anonymous. */
export function decodeRegistryAuth(header: string | undefined): Credentials & { serverAddress?: string } | undefined {
  if (!header || header.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(header.trim(), 'base64url').toString('utf8'));
  } catch {
    throw new InvalidArgument('invalid X-Registry-Auth header: expected base64url-encoded JSON');
  }
  if (!json || typeof json !== 'object') return undefined;
  const a = json as Record<string, unknown>;
  const str = (k: string) => (typeof a[k] === 'string' && a[k] !== '' ? (a[k] as string) : undefined);
  const creds: Credentials & { serverAddress?: string } = {};
  if (str('username')) creds.username = str('username');
  if (str('password')) creds.password = str('password');
  if (str('registrytoken')) creds.registryToken = str('registrytoken');
  if (str('identitytoken')) creds.identityToken = str('identitytoken');
  if (str('serveraddress')) creds.serverAddress = str('serveraddress');
  if (str('auth') && !creds.username) {
    const [u, ...p] = Buffer.from(str('auth')!, 'base64').toString('utf8').split(':');
    creds.username = u;
    creds.password = p.join(':');
  }
  return Object.keys(creds).length ? creds : undefined;
}

/** A client for one source, with its certs.d material; credentials go only to the reference's own registry. */
export async function clientFor(source: RegistrySource, credentials?: Credentials): Promise<RegistryClient> {
  const tls = await registryTls(source.host);
  return new RegistryClient(source.host, {
    insecure: source.insecure,
    credentials: source.mirror ? undefined : credentials,
    tls: tls.ca.length || tls.cert ? tls : undefined,
    userAgent: `berth/${BERTH_VERSION}`,
  });
}

/**
 * The manifest `ref` names, from the first source that has it (mirrors first; the registry
 * itself has the last word), checked against the reference's digest. The caller closes the client.
 */
export async function fetchManifest(conf: RegistriesConfig, ref: Reference, credentials?: Credentials): Promise<{ client: RegistryClient; source: RegistrySource; fetched: FetchedManifest }> {
  let lastErr: unknown;
  for (const source of pullSources(conf, ref)) {
    const client = await clientFor(source, credentials);
    try {
      const fetched = await client.getManifest(source.repository, ref.digest ?? ref.tag ?? 'latest');
      if (ref.digest) verifyDigest(ref.digest, fetched.body);
      return { client, source, fetched };
    } catch (err) {
      await client.close();
      lastErr = err;
      if (!source.mirror) break;
    }
  }
  throw lastErr;
}

/** Content fetched by digest must hash to it. */
export function verifyDigest(digest: string, body: Buffer): void {
  const got = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (got !== digest) throw new SystemError(`manifest verification failed for digest ${digest}: the registry sent content hashing to ${got}`);
}
