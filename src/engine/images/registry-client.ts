// A client of the Distribution (registry) API v2: endpoint choice (https, or http for insecure
// registries), Basic and Bearer-token auth from the registry's challenge with tokens reused per
// scope, manifests by tag or digest, and blobs as verified streams. One client per registry host.
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { NotFound, SystemError, Unauthorized } from '../errors.ts';
import { lazyRequire } from '../../sys/lazy-require.ts';

const lazyCrypto = lazyRequire<typeof import('node:crypto')>('node:crypto');
const lazyTls = lazyRequire<typeof import('node:tls')>('node:tls');

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

export class RegistryHttpError extends SystemError {
  constructor(readonly status: number, readonly text: string, readonly url: string) {
    super(text || `unexpected status ${status} from ${url}`);
  }
}

let undiciModule: typeof import('undici') | undefined;
async function undici(): Promise<typeof import('undici')> {
  // bundled, loaded on first use: no cold start that pulls nothing pays for it
  return (undiciModule ??= await import('undici'));
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

  /** The blob's bytes, following redirects to blob storage. Verify them as you store them. */
  async openBlob(repository: string, digest: string): Promise<{ size: number | undefined; body: Readable }> {
    const res = await this.send('GET', `/v2/${repository}/blobs/${digest}`, RegistryClient.scope(repository), {});
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      if (res.statusCode === 404) throw new NotFound(`blob ${digest} not found in ${this.host}/${repository}: ${registryErrorText(text)}`);
      this.check(res.statusCode, text, repository);
    }
    const len = Number(res.headers['content-length']);
    return { size: Number.isFinite(len) ? len : undefined, body: res.body as unknown as Readable };
  }

  private check(status: number, text: string, repository: string): void {
    if (status >= 200 && status < 300) return;
    if (status === 401 || status === 403) {
      throw new Unauthorized(`pull access denied for ${this.host}/${repository}, repository does not exist or may require 'docker login': ${registryErrorText(text)}`);
    }
    throw new RegistryHttpError(status, registryErrorText(text), `${this.base}/${repository}`);
  }

  /** Sends a request with whatever auth the registry asks for, answering one challenge. */
  private async send(method: 'GET' | 'HEAD', path: string, scope: string, headers: Record<string, string>): Promise<Dispatcher.ResponseData> {
    const base = await this.endpoint();
    const first = await this.raw(method, base + path, { ...headers, ...this.authHeader(scope) });
    if (first.statusCode !== 401) return first;
    const challenge = parseChallenge(String(first.headers['www-authenticate'] ?? ''));
    const text = await first.body.text();
    if (!challenge) return this.replay(first, text);
    if (challenge.scheme === 'basic') {
      const c = this.opts.credentials;
      if (!c?.username) throw new Unauthorized(`${method} "${base + path}": no basic auth credentials`);
      this.basic = `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
    } else if (challenge.scheme === 'bearer') {
      this.tokens.set(scope, await this.fetchToken(challenge, scope));
    } else {
      return this.replay(first, text);
    }
    return this.raw(method, base + path, { ...headers, ...this.authHeader(scope) });
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

  private async fetchToken(challenge: Challenge, scope: string): Promise<string> {
    const realm = challenge.params['realm'];
    if (!realm) throw new Unauthorized(`the registry ${this.host} asked for a token without saying where to get one`);
    const url = new URL(realm);
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    url.searchParams.set('scope', challenge.params['scope'] && !challenge.params['scope'].startsWith('repository:') ? challenge.params['scope'] : scope);
    const c = this.opts.credentials;
    let res: Dispatcher.ResponseData;
    if (c?.identityToken) {
      // OAuth2 refresh-token grant, as Docker does with an identity token from login
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.identityToken, client_id: 'berth', scope: url.searchParams.get('scope') ?? scope });
      if (challenge.params['service']) form.set('service', challenge.params['service']);
      res = await this.raw('POST', `${url.origin}${url.pathname}`, { 'content-type': 'application/x-www-form-urlencoded' }, form.toString());
    } else {
      const headers: Record<string, string> = c?.username ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}` } : {};
      res = await this.raw('GET', url.toString(), headers);
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) throw new Unauthorized(`Get "${url.origin}${url.pathname}": unauthorized: ${registryErrorText(text) || 'incorrect username or password'}`);
    if (res.statusCode !== 200) throw new RegistryHttpError(res.statusCode, registryErrorText(text), url.toString());
    const body = JSON.parse(text) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new SystemError(`the token server of ${this.host} answered without a token`);
    return token;
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

  private async raw(method: Dispatcher.HttpMethod, url: string, headers: Record<string, string>, body?: Dispatcher.DispatchOptions['body']): Promise<Dispatcher.ResponseData> {
    const u = await undici();
    // extra CAs from certs.d add to the system's, as Docker's do (Node's `ca` would replace them)
    const ca = this.opts.tls?.ca?.length ? [...lazyTls().rootCertificates, ...this.opts.tls.ca] : undefined;
    this.dispatcher ??= new u.Agent({
      connect: { rejectUnauthorized: !this.opts.insecure, ca, cert: this.opts.tls?.cert, key: this.opts.tls?.key },
    }).compose(u.interceptors.redirect({ maxRedirections: 5 }));
    return u.request(url, { method, headers: { 'user-agent': this.opts.userAgent ?? 'berth', ...headers }, body, dispatcher: this.dispatcher });
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }
}

function sha256(b: Buffer): string {
  return lazyCrypto().createHash('sha256').update(b).digest('hex');
}
