// What Docker's API asks of registries besides pulls and pushes: the login check (POST /auth),
// search (GET /images/search) and a reference's manifest descriptor and platforms
// (GET /distribution/{name}/json). Docker searches only Docker Hub's /v1/search; other
// registries rarely offer it, so for them berth lists the repositories of /v2/_catalog whose
// name holds the term.
import type { RegistriesConfig } from '../../config/registries.ts';
import type { EngineContext } from '../context.ts';
import { EngineError, InvalidArgument, SystemError } from '../errors.ts';
import { matchRegistry, isLoopbackRegistry, clientFor, fetchManifest, registriesConfig, DOCKER_HUB_REGISTRY, type RegistrySource } from './registries.ts';
import { parseManifest, type Platform } from './manifest.ts';
import { DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, parseNormalizedReference, withDefaultTag } from './reference.ts';
import type { Credentials, RegistryClient } from './registry-client.ts';

// --- POST /auth --------------------------------------------------------------------------------

export interface AuthRequest {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
  auth?: string;
}

export interface AuthResponse {
  Status: string;
  IdentityToken: string;
}

/** Docker Hub's names, as clients send them (`https://index.docker.io/v1/`, or nothing). */
const HUB_ADDRESSES = new Set(['', DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, DOCKER_HUB_REGISTRY, 'registry.hub.docker.com']);

/** `https://index.docker.io/v1/` → `registry-1.docker.io`; `http://127.0.0.1:5000/x` → `127.0.0.1:5000` (Docker's ConvertToHostname). */
export function registryHostOf(serverAddress: string | undefined): string {
  let host = (serverAddress ?? '').trim();
  const scheme = /^(https?):\/\//i.exec(host);
  if (scheme) host = host.slice(scheme[0].length);
  host = host.split('/')[0]!;
  return HUB_ADDRESSES.has(host.toLowerCase()) ? DOCKER_HUB_REGISTRY : host;
}

/** The endpoint of a registry host, from registries.conf (a relocation, insecure) and Docker's loopback rule. */
function hostSource(conf: RegistriesConfig, host: string): RegistrySource {
  const entry = matchRegistry(conf, host);
  const location = entry && !entry.prefix.startsWith('*.') && entry.location ? entry.location.split('/')[0]! : host;
  return { host: location, repository: '', insecure: (entry?.insecure ?? false) || isLoopbackRegistry(location), mirror: false };
}

/** Checks credentials against the registry as `docker login` does; throws 401 with the registry's reason. */
export async function login(engine: EngineContext, req: AuthRequest): Promise<AuthResponse> {
  const creds: Credentials = {};
  if (req.username) creds.username = req.username;
  if (req.password) creds.password = req.password;
  if (req.identitytoken) creds.identityToken = req.identitytoken;
  if (req.registrytoken) creds.registryToken = req.registrytoken;
  if (req.auth && !creds.username) {
    const [u, ...p] = Buffer.from(req.auth, 'base64').toString('utf8').split(':');
    creds.username = u;
    creds.password = p.join(':');
  }
  const conf = await registriesConfig(engine);
  const client = await clientFor(hostSource(conf, registryHostOf(req.serveraddress)), creds);
  try {
    const token = await client.checkLogin();
    return { Status: 'Login Succeeded', IdentityToken: token };
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new SystemError(networkWording(err, client), { cause: err });
  } finally {
    await client.close();
  }
}

/** `Get "http://127.0.0.1:5999/v2/": connect ECONNREFUSED 127.0.0.1:5999`, as Go words a failed request. */
function networkWording(err: unknown, client: RegistryClient): string {
  const cause = err instanceof Error ? ((err as { cause?: unknown }).cause as Error | undefined) : undefined;
  const scheme = isLoopbackRegistry(client.host) ? 'http' : 'https';
  return `Get "${scheme}://${client.host}/v2/": ${cause?.message ?? (err instanceof Error ? err.message : String(err))}`;
}

// --- GET /images/search ------------------------------------------------------------------------

export interface SearchResult {
  star_count: number;
  is_official: boolean;
  name: string;
  is_automated: boolean;
  description: string;
}

const SEARCH_FILTERS = new Set(['is-automated', 'is-official', 'stars']);
const DEFAULT_SEARCH_LIMIT = 25;

function filterBool(filters: Record<string, string[]>, key: string): boolean | undefined {
  const values = filters[key];
  if (!values?.length) return undefined;
  const v = values[values.length - 1]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidArgument(`invalid filter '${key}=${values[values.length - 1]}'`);
}

/**
 * Docker's search: `host[:port]/text` searches that registry, other terms the registries of
 * registries.conf's unqualified-search-registries (Docker Hub when there are none). Docker Hub
 * answers through /v1/search; others through /v2/_catalog, names holding the text.
 */
export async function searchImages(
  engine: EngineContext,
  term: string,
  opts: { limit?: number; filters?: Record<string, string[]>; credentials?: Credentials } = {},
): Promise<SearchResult[]> {
  const filters = opts.filters ?? {};
  for (const key of Object.keys(filters)) if (!SEARCH_FILTERS.has(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  const limit = opts.limit || DEFAULT_SEARCH_LIMIT;
  if (limit < 1 || limit > 100) throw new InvalidArgument(`limit ${limit} is outside the range of [1, 100]`);
  if (term.includes('://')) throw new InvalidArgument(`invalid repository name: repository name (${term}) should not have a scheme`);
  // is-automated is deprecated: Docker forces it false, so asking for true finds nothing
  const automated = filterBool(filters, 'is-automated');
  const official = filterBool(filters, 'is-official');
  let stars = 0;
  for (const s of filters['stars'] ?? []) {
    const n = Number.parseInt(s, 10);
    if (!/^-?\d+$/.test(s.trim()) || Number.isNaN(n)) throw new InvalidArgument(`invalid filter 'stars=${s}'`);
    stars = Math.max(stars, n);
  }
  if (automated) return [];

  const conf = await registriesConfig(engine);
  const [index, text] = splitSearchTerm(term);
  const registries = index !== undefined ? [index] : conf.unqualifiedSearch.length ? conf.unqualifiedSearch : [DEFAULT_DOMAIN];
  const results: SearchResult[] = [];
  let lastErr: unknown;
  let answered = false;
  for (const registry of registries) {
    try {
      results.push(...(await searchRegistry(conf, registry, text, limit, index !== undefined ? opts.credentials : undefined)));
      answered = true;
    } catch (err) {
      lastErr = err;
    }
  }
  if (!answered) throw lastErr;
  return results
    .filter((r) => official === undefined || r.is_official === official)
    .filter((r) => r.star_count >= stars)
    .map((r) => ({ ...r, is_automated: false }))
    .slice(0, limit);
}

/** Docker's rule: the first component is a registry if it has a dot or a port, or is localhost. */
function splitSearchTerm(term: string): [string | undefined, string] {
  const i = term.indexOf('/');
  if (i < 0) return [undefined, term];
  const first = term.slice(0, i);
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return [undefined, term];
  return [first, term.slice(i + 1)];
}

async function searchRegistry(conf: RegistriesConfig, registry: string, text: string, limit: number, credentials: Credentials | undefined): Promise<SearchResult[]> {
  const host = registryHostOf(registry);
  if (host === DOCKER_HUB_REGISTRY) {
    const client = await clientFor({ host: LEGACY_DEFAULT_DOMAIN, repository: '', insecure: false, mirror: false }, credentials);
    try {
      const found = await client.searchV1(text.replace(/^library\//, ''), limit);
      return found.results.map((r) => ({
        star_count: r.star_count ?? 0,
        is_official: r.is_official ?? false,
        name: r.name,
        is_automated: false,
        description: r.description ?? '',
      }));
    } finally {
      await client.close();
    }
  }
  const client = await clientFor(hostSource(conf, host), credentials);
  try {
    const needle = text.toLowerCase();
    const names = await client.catalog();
    return names
      .filter((n) => n.toLowerCase().includes(needle))
      .slice(0, limit)
      .map((n) => ({ star_count: 0, is_official: false, name: `${registry}/${n}`, is_automated: false, description: '' }));
  } finally {
    await client.close();
  }
}

// --- GET /distribution/{name}/json -------------------------------------------------------------

export interface DistributionPlatform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: DistributionPlatform[];
}

/** Platform fields as Docker shows them (an OCI platform), from an index entry or an image config. */
function platformOf(p: Partial<Platform> & { 'os.version'?: string; 'os.features'?: string[] }): DistributionPlatform | undefined {
  if (!p.os && !p.architecture) return undefined;
  const out: DistributionPlatform = { architecture: p.architecture ?? '', os: p.os ?? '' };
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = p['os.features'];
  if (p.variant) out.variant = p.variant;
  return out;
}

/**
 * The manifest a reference names on its registry (mirrors first): its descriptor, and the
 * platforms it offers (an index's entries without attestations, or a single image's config).
 */
export async function inspectDistribution(engine: EngineContext, name: string, credentials?: Credentials): Promise<DistributionInspect> {
  if (/^sha256:[a-f0-9]{64}$/.test(name)) throw new SystemError('no manifest found for full image ID');
  const ref = withDefaultTag(parseNormalizedReference(name));
  const { client, fetched, source } = await fetchManifest(await registriesConfig(engine), ref, credentials);
  try {
    const manifest = parseManifest(fetched.body, fetched.mediaType);
    const digest = ref.digest ?? fetched.digest;
    const platforms: DistributionPlatform[] = [];
    if (manifest.kind === 'index') {
      for (const m of manifest.manifests) {
        const p = m.platform && platformOf(m.platform);
        if (!p || (p.os === 'unknown' && p.architecture === 'unknown')) continue; // attestations
        platforms.push(p);
      }
    } else {
      const { body } = await client.openBlob(source.repository, manifest.config.digest);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      try {
        const p = platformOf(JSON.parse(Buffer.concat(chunks).toString()) as Partial<Platform>);
        if (p) platforms.push(p);
      } catch {
        // a config that is not JSON (an artifact): no platform
      }
    }
    return { Descriptor: { mediaType: manifest.mediaType, digest, size: fetched.body.length }, Platforms: platforms };
  } finally {
    await client.close();
  }
}
