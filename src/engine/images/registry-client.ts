// A client of the Distribution (registry) API v2: endpoint choice (https, or http for insecure
// registries), Basic and Bearer-token auth from the registry's challenge with tokens reused per
// scope, manifests by tag or digest, and blobs as verified streams. The push side: blob existence,
// cross-repository mounts, chunked uploads (POST, PATCH, PUT ?digest=), manifest PUTs. And the
// rest a registry offers Docker's API: the catalog (for search), Docker Hub's v1 search, and the
// login check of POST /auth. One client per registry host.
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { NotFound, SystemError, Unauthorized } from '../errors.ts';
import { lazyRequire } from '../../sys/lazy-require.ts';

const lazyCrypto = lazyRequire<typeof import('node:crypto')>('node:crypto');
const lazyTls = lazyRequire<typeof import('node:tls')>('node:tls');
const lazyStream = lazyRequire<typeof import('node:stream')>('node:stream');

export interface Credentials {
  username?: string;
  password?: string;
  /** A registry token to send as is (Docker's `registrytoken`). */
  registryToken?: string;
  /** An OAuth refresh token from an earlier login (Docker's `identitytoken`). */
  identityToken?: string;
}

export interface RegistryClientOptions {
  /** Plain http allowed (after https fails), and TLS left unverified. */
  insecure: boolean;
  credentials?: Credentials;
  /** Extra CA and client certificate, from certs.d. */
  tls?: { ca?: string[]; cert?: string; key?: string };
  userAgent?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth",service="reg",scope="repository:x:pull"` (and Basic). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface FetchedManifest {
  mediaType: string;
  /** The digest the registry names (Docker-Content-Digest), else the body's. */
  digest: string;
  body: Buffer;
}

/** The registry's error body, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, as Docker words it. */
export function registryErrorText(body: string): string {
  try {
    const errors = (JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> }).errors ?? [];
    if (errors.length) return errors.map((e) => `${(e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`).join(', ');
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 300);
}

/** The first error of a registry's error body, as Docker shows it (`denied: requested access…`). */
export function firstRegistryError(body: string): string | undefined {
  try {
    const e = (JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
    if (e) return `${(e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`;
  } catch {
    // not JSON
  }
  return undefined;
}

export class RegistryHttpError extends SystemError {
  constructor(readonly status: number, readonly text: string, readonly url: string) {
    super(text || `unexpected status ${status} from ${url}`);
  }
}

/** A Basic challenge with no username to answer it. Docker's push says only `no basic auth credentials`. */
export class NoBasicCredentials extends Unauthorized {}

/** The token server refused the credentials; `reason` is Docker's wording (`unauthorized: …`). */
class TokenRefused extends Unauthorized {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Go's url.Error spells the method `Get`, `Head`, `Post`. */
function goMethod(method: string): string {
  return method.charAt(0) + method.slice(1).toLowerCase();
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** An upload session: where to send the bytes, and the token scope it was opened with. */
export interface UploadSession {
  url: string;
  scope: string;
}

export type MountResult = { mounted: true } | { mounted: false; session: UploadSession };

/** Docker Hub's /v1/search answer. */
export interface V1SearchResults {
  num_results?: number;
  query?: string;
  results: Array<{ name: string; description?: string; star_count?: number; is_official?: boolean; is_automated?: boolean }>;
}

let undiciModule: typeof import('undici') | undefined;
async function undici(): Promise<typeof import('undici')> {
  // bundled, loaded on first use: no cold start that pulls nothing pays for it
  return (undiciModule ??= await import('undici'));
}

/** How many times one blob download may be resumed after a lost connection. */
const MAX_RESUMES = 3;

/**
 * A blob response's body, continued from where it broke by `resume(offset)` (a ranged GET) when
 * the connection ends early. Without a known size, or when the registry answers a range with
 * anything but a 206 from that offset, the original error stands: never a body from byte 0 again.
 */
async function* resumingBody(res: Dispatcher.ResponseData, size: number | undefined, resume: (from: number) => Promise<Dispatcher.ResponseData>): AsyncGenerator<Buffer> {
  let got = 0;
  let body = res.body;
  for (let resumes = 0; ; resumes++) {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        got += chunk.length;
        yield chunk;
      }
      if (size === undefined || got >= size) return;
      throw new SystemError(`the blob download ended after ${got} of ${size} bytes`);
    } catch (err) {
      if (size === undefined || resumes >= MAX_RESUMES || got >= size) throw err;
      const next = await resume(got).catch(() => undefined);
      const range = /^bytes (\d+)-/.exec(String(next?.headers['content-range'] ?? ''));
      if (!next || next.statusCode !== 206 || Number(range?.[1]) !== got) {
        await next?.body.dump().catch(() => {});
        throw err;
      }
      body = next.body;
    }
  }
}

export class RegistryClient {
  private base: string | undefined;
  private dispatcher: Dispatcher | undefined;
  private readonly tokens = new Map<string, string>();
  private basic: string | undefined;

  constructor(
    readonly host: string,
    private readonly opts: RegistryClientOptions,
  ) {}

  /** `repository:library/busybox:pull` */
  static scope(repository: string, actions = 'pull'): string {
    return `repository:${repository}:${actions}`;
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const res = await this.send('GET', `/v2/${repository}/manifests/${reference}`, RegistryClient.scope(repository), { accept: MANIFEST_ACCEPT });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode === 404) throw new NotFound(`manifest for ${this.host}/${repository}:${reference} not found: ${registryErrorText(body.toString())}`);
    this.check(res.statusCode, body.toString(), repository);
    const digest = String(res.headers['docker-content-digest'] ?? '') || `sha256:${sha256(body)}`;
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim() || (JSON.parse(body.toString()) as { mediaType?: string }).mediaType || '';
    return { mediaType, digest, body };
  }

  /**
   * The blob's bytes, following redirects to blob storage. Verify them as you store them. A
   * connection lost part-way is resumed where it broke (`Range: bytes=N-`) when the registry
   * serves ranges; the stream's reader sees one unbroken body.
   */
  async openBlob(repository: string, digest: string): Promise<{ size: number | undefined; body: Readable }> {
    const path = `/v2/${repository}/blobs/${digest}`;
    const scope = RegistryClient.scope(repository);
    const res = await this.send('GET', path, scope, {});
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      if (res.statusCode === 404) throw new NotFound(`blob ${digest} not found in ${this.host}/${repository}: ${registryErrorText(text)}`);
      this.check(res.statusCode, text, repository);
    }
    const len = Number(res.headers['content-length']);
    const size = Number.isFinite(len) ? len : undefined;
    const resume = (from: number) => this.send('GET', path, scope, { range: `bytes=${from}-` });
    return { size, body: lazyStream().Readable.from(resumingBody(res, size, resume), { objectMode: false }) };
  }

  private check(status: number, text: string, repository: string): void {
    if (status >= 200 && status < 300) return;
    if (status === 401 || status === 403) {
      throw new Unauthorized(`pull access denied for ${this.host}/${repository}, repository does not exist or may require 'docker login': ${registryErrorText(text)}`);
    }
    throw new RegistryHttpError(status, registryErrorText(text), `${this.base}/${repository}`);
  }

  /** `repository:x:pull,push`: what every push request asks for. */
  static pushScope(repository: string): string {
    return RegistryClient.scope(repository, 'pull,push');
  }

  /** Does the repository have the blob? (HEAD; a 404 is no.) */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const res = await this.send('HEAD', `/v2/${repository}/blobs/${digest}`, RegistryClient.pushScope(repository), {});
    await res.body.dump();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw this.pushError(res, '', repository);
  }

  /**
   * Asks the registry to link a blob of `fromRepository` (same registry) into `repository`.
   * 201: mounted. 202: the registry opened an upload instead (it lacks the blob there, or will not
   * mount), which the caller may use for the upload.
   */
  async mountBlob(repository: string, digest: string, fromRepository: string): Promise<MountResult> {
    const scope = `${RegistryClient.pushScope(repository)} ${RegistryClient.scope(fromRepository)}`;
    const q = new URLSearchParams({ mount: digest, from: fromRepository });
    const res = await this.send('POST', `/v2/${repository}/blobs/uploads/?${q}`, scope, { 'content-length': '0' });
    const text = await res.body.text();
    if (res.statusCode === 201) return { mounted: true };
    if (res.statusCode === 202) return { mounted: false, session: { url: await this.location(res), scope } };
    throw this.pushError(res, text, repository);
  }

  /** Opens an upload session (POST /v2/<repo>/blobs/uploads/). */
  async startUpload(repository: string): Promise<UploadSession> {
    const scope = RegistryClient.pushScope(repository);
    const res = await this.send('POST', `/v2/${repository}/blobs/uploads/`, scope, { 'content-length': '0' });
    const text = await res.body.text();
    if (res.statusCode !== 202) throw this.pushError(res, text, repository);
    return { url: await this.location(res), scope };
  }

  /**
   * Uploads a blob as Docker does: one PATCH with the bytes to the session's location, then
   * PUT `?digest=` to commit it. `onProgress` sees the bytes sent so far. The session is opened
   * here unless one is given (from a mount the registry answered with 202).
   */
  async uploadBlob(
    repository: string,
    digest: string,
    size: number,
    body: AsyncIterable<Buffer> | Iterable<Buffer>,
    opts: { session?: UploadSession; onProgress?: (sent: number) => void } = {},
  ): Promise<void> {
    const session = opts.session ?? (await this.startUpload(repository));
    let sent = 0;
    const onProgress = opts.onProgress;
    async function* counted() {
      for await (const chunk of body) {
        sent += chunk.length;
        yield chunk;
        onProgress?.(sent);
      }
    }
    // the body is a stream: it cannot be sent twice, so no challenge is answered here (the
    // session's POST did that, and its token is reused)
    const patch = await this.raw('PATCH', session.url, { ...this.authHeader(session.scope), 'content-type': 'application/octet-stream', 'content-length': String(size) }, lazyStream().Readable.from(counted(), { objectMode: false }));
    const patchText = await patch.body.text();
    if (patch.statusCode !== 202 && patch.statusCode !== 204) throw this.pushError(patch, patchText, repository);
    if (sent !== size) throw new SystemError(`blob ${digest}: sent ${sent} bytes, expected ${size}`);
    const commit = new URL(await this.location(patch).catch(() => session.url));
    commit.searchParams.set('digest', digest);
    const put = await this.send('PUT', commit.toString(), session.scope, { 'content-length': '0' });
    const putText = await put.body.text();
    if (put.statusCode !== 201 && put.statusCode !== 204) throw this.pushError(put, putText, repository);
  }

  /** PUT a manifest by tag or digest; returns the digest the registry gives it. */
  async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.send('PUT', `/v2/${repository}/manifests/${reference}`, RegistryClient.pushScope(repository), { 'content-type': mediaType }, bytes);
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) throw this.pushError(res, text, repository);
    return String(res.headers['docker-content-digest'] ?? '') || `sha256:${sha256(bytes)}`;
  }

  /** Every repository the registry lists in /v2/_catalog, following its `Link: <…>; rel="next"` pages. */
  async catalog(opts: { pageSize?: number; max?: number } = {}): Promise<string[]> {
    const scope = 'registry:catalog:*';
    const names: string[] = [];
    let next: string | undefined = `/v2/_catalog?n=${opts.pageSize ?? 1000}`;
    while (next) {
      const res = await this.send('GET', next, scope, { accept: 'application/json' });
      const text = await res.body.text();
      if (res.statusCode === 404) throw new NotFound(`the registry ${this.host} does not list its repositories (no /v2/_catalog)`);
      if (res.statusCode === 401 || res.statusCode === 403) throw new Unauthorized(firstRegistryError(text) ?? 'unauthorized: authentication required');
      if (res.statusCode !== 200) throw new RegistryHttpError(res.statusCode, registryErrorText(text), `${this.base}/v2/_catalog`);
      names.push(...((JSON.parse(text) as { repositories?: string[] }).repositories ?? []));
      if (opts.max !== undefined && names.length >= opts.max) break;
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(res.headers['link'] ?? ''));
      next = link ? new URL(link[1]!, this.base).toString() : undefined;
    }
    return names;
  }

  /** GET /v2/ without credentials: the status and the challenge, if any. */
  async ping(): Promise<{ status: number; challenge?: Challenge }> {
    const res = await this.raw('GET', `${await this.endpoint()}/v2/`, {});
    await res.body.dump();
    const challenge = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
    return challenge ? { status: res.statusCode, challenge } : { status: res.statusCode };
  }

  /**
   * Docker's login check (POST /auth): GET /v2/, answering its challenge with the credentials
   * (Basic, or a token fetched with them). Returns the identity (refresh) token the token server
   * gave, or ''. Refusals are worded as Docker words them.
   */
  async checkLogin(): Promise<string> {
    const url = `${await this.endpoint()}/v2/`;
    const first = await this.raw('GET', url, {});
    await first.body.dump();
    if (first.statusCode === 200) return '';
    const failed = (status: number) => new Unauthorized(`login attempt to ${url} failed with status: ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd());
    if (first.statusCode !== 401) throw failed(first.statusCode);
    const challenge = parseChallenge(String(first.headers['www-authenticate'] ?? ''));
    const c = this.opts.credentials;
    let authorization: string;
    let identity = '';
    if (challenge?.scheme === 'basic') {
      if (!c?.username) throw new NoBasicCredentials(`Get "${url}": no basic auth credentials`);
      authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    } else if (challenge?.scheme === 'bearer') {
      try {
        const t = await this.fetchToken(challenge, '', { login: true });
        authorization = `Bearer ${t.token}`;
        identity = t.refreshToken ?? '';
      } catch (err) {
        if (err instanceof TokenRefused) throw new Unauthorized(`Get "${url}": ${err.reason}`);
        throw err;
      }
    } else {
      throw failed(first.statusCode);
    }
    const second = await this.raw('GET', url, { authorization });
    await second.body.dump();
    if (second.statusCode !== 200) throw failed(second.statusCode);
    return identity;
  }

  /** Docker Hub's search API (`/v1/search`), the only search Docker knows. */
  async searchV1(term: string, limit: number): Promise<V1SearchResults> {
    const url = `${await this.endpoint()}/v1/search?q=${encodeURIComponent(term)}&n=${limit}`;
    const c = this.opts.credentials;
    const headers: Record<string, string> = { 'x-docker-token': 'true' };
    if (c?.username) headers['authorization'] = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.raw('GET', url, headers, undefined, AbortSignal.timeout(15_000));
    } catch (err) {
      throw new SystemError(`Get "${url}": ${describeNetworkError(err)}`);
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new SystemError(`unexpected status code ${res.statusCode}`);
    try {
      const parsed = JSON.parse(text) as V1SearchResults;
      return { ...parsed, results: parsed.results ?? [] };
    } catch {
      throw new SystemError('error decoding registry search results: not JSON');
    }
  }

  /** A refused push request in Docker's words (its pusher shows the first registry error). */
  private pushError(res: Dispatcher.ResponseData, text: string, repository: string): Error {
    const status = res.statusCode;
    if (status === 401 || status === 403) {
      const challenge = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
      if (challenge?.params['error'] === 'insufficient_scope') return new Unauthorized('denied: requested access to the resource is denied');
      return new Unauthorized(firstRegistryError(text) ?? (status === 403 ? 'denied: requested access to the resource is denied' : 'unauthorized: authentication required'));
    }
    return new RegistryHttpError(status, firstRegistryError(text) ?? `received unexpected HTTP status: ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd(), `${this.base}/v2/${repository}`);
  }

  /** The response's Location, made absolute (registries may answer with a path). */
  private async location(res: Dispatcher.ResponseData): Promise<string> {
    const loc = res.headers['location'];
    const value = Array.isArray(loc) ? loc[0] : loc;
    if (!value) throw new SystemError(`the registry ${this.host} answered ${res.statusCode} without a Location`);
    return new URL(value, await this.endpoint()).toString();
  }

  /**
   * Sends a request with whatever auth the registry asks for, answering one challenge. `path` is
   * a path on the registry or an absolute URL (an upload location); `scope` may name several
   * scopes separated by spaces. A body is sent twice when a challenge is answered: a Buffer only.
   */
  private async send(method: Dispatcher.HttpMethod, path: string, scope: string, headers: Record<string, string>, body?: Buffer): Promise<Dispatcher.ResponseData> {
    const base = await this.endpoint();
    const url = /^https?:\/\//.test(path) ? path : base + path;
    const first = await this.raw(method, url, { ...headers, ...this.authHeader(scope) }, body);
    if (first.statusCode !== 401) return first;
    const challenge = parseChallenge(String(first.headers['www-authenticate'] ?? ''));
    const text = await first.body.text();
    if (!challenge) return this.replay(first, text);
    if (challenge.scheme === 'basic') {
      const c = this.opts.credentials;
      if (!c?.username) throw new NoBasicCredentials(`${goMethod(method)} "${url}": no basic auth credentials`);
      const basic = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
      if (this.basic === basic) return this.replay(first, text); // sent already: refused
      this.basic = basic;
    } else if (challenge.scheme === 'bearer') {
      try {
        this.tokens.set(scope, (await this.fetchToken(challenge, scope)).token);
      } catch (err) {
        if (err instanceof TokenRefused) throw new Unauthorized(`${goMethod(method)} "${url}": ${err.reason}`);
        throw err;
      }
    } else {
      return this.replay(first, text);
    }
    return this.raw(method, url, { ...headers, ...this.authHeader(scope) }, body);
  }

  private replay(res: Dispatcher.ResponseData, text: string): Dispatcher.ResponseData {
    return { ...res, body: Object.assign(res.body, { text: async () => text, arrayBuffer: async () => new TextEncoder().encode(text).buffer }) } as Dispatcher.ResponseData;
  }

  private authHeader(scope: string): Record<string, string> {
    if (this.opts.credentials?.registryToken) return { authorization: `Bearer ${this.opts.credentials.registryToken}` };
    const token = this.tokens.get(scope);
    if (token) return { authorization: `Bearer ${token}` };
    if (this.basic) return { authorization: this.basic };
    return {};
  }

  /**
   * A token from the challenge's realm for `scope` (space-separated scopes go as several `scope`
   * parameters, as Docker sends them). A login asks for no scope and an offline (refresh) token,
   * as Docker's does. Refused credentials throw TokenRefused with Docker's wording.
   */
  private async fetchToken(challenge: Challenge, scope: string, opts: { login?: boolean } = {}): Promise<{ token: string; refreshToken?: string }> {
    const realm = challenge.params['realm'];
    if (!realm) throw new Unauthorized(`the registry ${this.host} asked for a token without saying where to get one`);
    const url = new URL(realm);
    const service = challenge.params['service'];
    if (service) url.searchParams.set('service', service);
    const scopes = challenge.params['scope'] && !challenge.params['scope'].startsWith('repository:') ? [challenge.params['scope']] : scope.split(' ').filter(Boolean);
    for (const s of scopes) url.searchParams.append('scope', s);
    const c = this.opts.credentials;
    if (opts.login && c?.username) {
      url.searchParams.set('account', c.username);
      url.searchParams.set('client_id', 'docker');
      url.searchParams.set('offline_token', 'true');
    }
    let res: Dispatcher.ResponseData | undefined;
    if (c?.identityToken) {
      // OAuth2 refresh-token grant, as Docker does with an identity token from login
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: 'docker' });
      if (scopes.length) form.set('scope', scopes.join(' '));
      if (service) form.set('service', service);
      res = await this.raw('POST', `${url.origin}${url.pathname}`, { 'content-type': 'application/x-www-form-urlencoded' }, form.toString());
      if (res.statusCode === 404 || res.statusCode === 405) {
        // a token server without the OAuth form: Basic credentials on GET, if there are any
        await res.body.dump();
        res = undefined;
      }
    }
    if (!res) {
      const headers: Record<string, string> = c?.username ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}` } : {};
      res = await this.raw('GET', url.toString(), headers);
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new TokenRefused(firstRegistryError(text) ?? `unauthorized: ${text.trim().slice(0, 300) || 'incorrect username or password'}`);
    }
    if (res.statusCode !== 200) throw new RegistryHttpError(res.statusCode, registryErrorText(text), url.toString());
    const body = JSON.parse(text) as { token?: string; access_token?: string; refresh_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new SystemError(`the token server of ${this.host} answered without a token`);
    return body.refresh_token ? { token, refreshToken: body.refresh_token } : { token };
  }

  /** https, or for insecure registries https then http when https cannot connect. */
  private async endpoint(): Promise<string> {
    if (this.base) return this.base;
    if (!this.opts.insecure) return (this.base = `https://${this.host}`);
    try {
      const res = await this.raw('GET', `https://${this.host}/v2/`, {});
      await res.body.dump();
      this.base = `https://${this.host}`;
    } catch {
      this.base = `http://${this.host}`;
    }
    return this.base;
  }

  private async raw(
    method: Dispatcher.HttpMethod,
    url: string,
    headers: Record<string, string>,
    body?: Dispatcher.DispatchOptions['body'],
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const u = await undici();
    // extra CAs from certs.d add to the system's, as Docker's do (Node's `ca` would replace them)
    const ca = this.opts.tls?.ca?.length ? [...lazyTls().rootCertificates, ...this.opts.tls.ca] : undefined;
    this.dispatcher ??= new u.Agent({
      connect: { rejectUnauthorized: !this.opts.insecure, ca, cert: this.opts.tls?.cert, key: this.opts.tls?.key },
    }).compose(u.interceptors.redirect({ maxRedirections: 5 }));
    return u.request(url, { method, headers: { 'user-agent': this.opts.userAgent ?? 'berth', ...headers }, body, signal, dispatcher: this.dispatcher });
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }
}

function sha256(b: Buffer): string {
  return lazyCrypto().createHash('sha256').update(b).digest('hex');
}

/** `getaddrinfo ENOTFOUND index.docker.io`, not undici's bare `fetch failed`. */
function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'the request timed out';
  if (cause instanceof Error && cause.message) return cause.message;
  return err.message;
}
