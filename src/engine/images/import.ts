// `docker import`: a root filesystem tar (plain, gzip or zstd; from the request body or a URL)
// becomes a one-layer image. The tar is spooled to a temp file while its blob digest and its
// diff id are computed, then unpacked into the layer store (which checks the diff id again) and
// stored as given, compressed or not. The config comes from Docker's `changes` (Dockerfile
// instructions, as `docker import --change` and `docker commit --change` take them), with
// Docker's import semantics: history `Imported from -` unless a message is given.
import { createHash } from 'node:crypto';
import { constants as fsc, createReadStream, promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { Emit } from '../../server/json-stream.ts';
import { tempPathFor } from '../../store/atomic.ts';
import type { EngineContext } from '../context.ts';
import { InvalidArgument, NotFound, SystemError } from '../errors.ts';
import { recordImageEvent } from '../events/image-events.ts';
import { decompress } from '../storage/decompress.ts';
import { unpackLayer } from '../storage/unpack.ts';
import { goArch } from '../system/host.ts';
import { layerMediaType, OCI_CONFIG, ociManifest } from './archive.ts';
import { dockerConfig } from './describe.ts';
import { ImageStore, type ImageConfig } from './image-store.ts';
import { parsePlatform, type Descriptor } from './manifest.ts';
import { progressMessage } from './progress.ts';
import { parseNormalizedReference, referenceString, validateTag } from './reference.ts';
import { tee } from './tee.ts';

export interface ImportOptions {
  /** `-` (or unset): `input` is the tar; otherwise a URL to fetch it from (no scheme means http://). */
  fromSrc?: string;
  /** Repository, which may carry a tag; none leaves the image untagged. */
  repo?: string;
  tag?: string;
  /** History comment; Docker's default is `Imported from <fromSrc>`. */
  message?: string;
  /** Dockerfile instructions: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. */
  changes?: string[];
  /** `os[/arch[/variant]]`; the host's by default. */
  platform?: string;
  /** Gets Docker's messages: `Downloading from …` and `Importing` progress (URLs), then `{"status":"sha256:…"}`. */
  emit: Emit;
}

export interface ImportResult {
  id: string;
  /** the full name given, if any: `docker.io/library/app:latest` */
  name?: string;
}

/** `repo` and `tag` of POST /images/create?fromSrc= as Docker reads them (httputils.RepoTagReference). */
export function importName(repo: string | undefined, tag: string | undefined): string | undefined {
  if (!repo) return undefined;
  const ref = parseNormalizedReference(repo);
  if (ref.digest) throw new InvalidArgument('cannot import digest reference');
  return referenceString({ domain: ref.domain, path: ref.path, tag: tag ? validateTag(tag) : (ref.tag ?? 'latest') });
}

export async function importImage(engine: EngineContext, input: AsyncIterable<Buffer> | undefined, opts: ImportOptions): Promise<ImportResult> {
  // everything that can be refused is refused before a byte is read
  const name = importName(opts.repo, opts.tag);
  const platform = parsePlatform(opts.platform);
  if (platform.os !== 'linux') throw new InvalidArgument(`operating system ${JSON.stringify(platform.os)} is not supported`);
  const runConfig = applyChanges(opts.changes ?? []);
  const src = opts.fromSrc && opts.fromSrc !== '-' ? opts.fromSrc : '-';
  const message = opts.message || `Imported from ${src}`;

  const store = new ImageStore(engine);
  await store.init();
  const source = src === '-' ? input : await download(src, opts.emit);
  if (!source) throw new InvalidArgument('import: the request has no body (send the root filesystem tar, or give fromSrc a URL)');

  const spool = tempPathFor(join(engine.paths.images, 'import'));
  let stored = false;
  try {
    const hold = await store.holdForWrite();
    try {
      const blob = await spoolLayer(source, spool);
      const mediaType = layerMediaType(blob.head);
      stored = true;
      // a single layer's chain id is its diff id
      await store.layers.create(blob.diffId, blob.diffId, undefined, (dir) => unpackLayer(createReadStream(spool), dir));
      await store.content.ingest(blob.digest, blob.size, { open: async () => createReadStream(spool) });

      const created = new Date().toISOString();
      const config: ImageConfig = {
        comment: message,
        created,
        config: dockerConfig(runConfig),
        architecture: platform.architecture,
        ...(platform.variant ? { variant: platform.variant } : {}),
        os: platform.os,
        rootfs: { type: 'layers', diff_ids: [blob.diffId] },
        history: [{ created, comment: message }],
      };
      const configBytes = Buffer.from(JSON.stringify(config));
      const id = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
      await store.content.ingest(id, configBytes.length, { open: async () => [configBytes] });
      const layer: Descriptor = { mediaType, digest: blob.digest, size: blob.size };
      const manifest = ociManifest({ mediaType: OCI_CONFIG, digest: id, size: configBytes.length }, [layer]);
      await store.content.ingest(manifest.desc.digest, manifest.bytes.length, { open: async () => [manifest.bytes] });
      const platformOf = { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) };
      await store.setNames(id, { ...manifest.desc, platform: platformOf }, name ? [name] : []);
      if (name) await recordImageEvent(engine, 'tag', id, ImageStore.familiar(name), config.config?.['Labels'] as Record<string, unknown> | undefined);
      await recordImageEvent(engine, 'import', id, id, config.config?.['Labels'] as Record<string, unknown> | undefined);
      opts.emit({ status: id });
      return name ? { id, name } : { id };
    } finally {
      await hold.release();
      await fs.rm(spool, { force: true });
    }
  } catch (err) {
    // what a failed import stored and nothing names goes now, when no other writer is busy
    if (stored) await store.collect({ wait: false }).catch(() => undefined);
    throw err;
  }
}

interface Spooled {
  /** digest, size and first bytes of the tar as given */
  digest: string;
  size: number;
  head: Buffer;
  /** of the tar once decompressed */
  diffId: string;
}

/** One pass over the input: to the spool file (hashed as given) and through the decompressor (hashed: the diff id). */
async function spoolLayer(input: AsyncIterable<Buffer>, spool: string): Promise<Spooled> {
  const source = input instanceof Readable ? input : Readable.from(input, { objectMode: false });
  const [toFile, toHash] = tee(source);
  const fh = await fs.open(spool, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  const written = (async () => {
    const hash = createHash('sha256');
    let size = 0;
    const head: Buffer[] = [];
    try {
      for await (const chunk of toFile) {
        if (size < 4) head.push(chunk.subarray(0, 4));
        size += chunk.length;
        hash.update(chunk);
        await fh.write(chunk);
      }
    } finally {
      toFile.drop();
      await fh.close();
    }
    return { digest: `sha256:${hash.digest('hex')}`, size, head: Buffer.concat(head).subarray(0, 4) };
  })();
  const hashed = (async () => {
    const hash = createHash('sha256');
    try {
      for await (const chunk of decompress(toHash)) hash.update(chunk);
    } finally {
      toHash.drop();
    }
    return `sha256:${hash.digest('hex')}`;
  })();
  // either failing stops both from taking more: the rest of the upload is read and dropped (the
  // client then gets the error as an answer; destroying a request mid-body resets its connection)
  const guard = <T>(p: Promise<T>) =>
    p.catch((err: Error) => {
      toFile.drop();
      toHash.drop();
      return Promise.reject(err);
    });
  // both settle before the caller removes the spool file
  const [file, diffId] = await Promise.allSettled([guard(written), guard(hashed)]).then(([a, b]) => {
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    return [a.value, b.value] as const;
  });
  if (file.size === 0) throw new InvalidArgument('import: the root filesystem tar is empty');
  return { ...file, diffId };
}

/** `fromSrc=<url>`: the tar from a web server, with Docker's messages. */
async function download(src: string, emit: Emit): Promise<AsyncIterable<Buffer>> {
  const url = src.includes('://') ? src : `http://${src}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgument(`invalid import source ${JSON.stringify(src)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidArgument(`invalid import source ${JSON.stringify(src)}: only http and https URLs are fetched`);
  const { fetch } = await import('undici');
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    res = await fetch(parsed, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    throw new SystemError(`error fetching ${parsed.href}: ${cause?.message ?? (err as Error).message}`, { cause: err });
  }
  if (res.status >= 400 || !res.body) {
    const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);
    const msg = `failed to GET ${parsed.href} with status ${res.status} ${res.statusText}${text ? `: ${text}` : ''}`;
    throw res.status === 404 ? new NotFound(msg) : new SystemError(msg);
  }
  emit({ status: `Downloading from ${parsed.href}` });
  const total = Number(res.headers.get('content-length') ?? -1);
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  return withProgress(body, total, emit);
}

/** The download's chunks, with Docker's `Importing` progress as they pass (no listener runs ahead of the reader). */
async function* withProgress(body: Readable, total: number, emit: Emit): AsyncGenerator<Buffer, void, undefined> {
  let done = 0;
  let last = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      done += chunk.length;
      const now = Date.now();
      if (now - last >= 100 || done === total) {
        last = now;
        emit(total > 0 ? progressMessage('Importing', '', done, total) : { status: 'Importing', progressDetail: { current: done }, progress: '' });
      }
      yield chunk;
    }
  } finally {
    body.destroy();
  }
}

// =============================================================================================
// Dockerfile instructions applied to a container config (Docker's BuildFromConfig).

/** The config fields `changes` may set, in Docker's container-config names. */
export interface RunConfig {
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Env?: string[];
  ExposedPorts?: Record<string, Record<string, never>>;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  Labels?: Record<string, string>;
  OnBuild?: string[];
  StopSignal?: string;
  User?: string;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  [key: string]: unknown;
}

const VALID = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

/**
 * Applies Dockerfile instructions to `base` (a copy is changed), as Docker's import and commit
 * do. Errors are InvalidArgument with Docker's wording where it has one.
 */
export function applyChanges(changes: string[], base: RunConfig = {}): RunConfig {
  const cfg: RunConfig = structuredClone(base);
  let cmdSet = false;
  for (const { instruction, args } of instructions(changes.join('\n'))) {
    const lower = instruction.toLowerCase();
    if (!VALID.has(lower)) throw new InvalidArgument(`${lower} is not a valid change command`);
    const env = envMap(cfg.Env);
    const expand = (w: string) => expandWord(w, env, instruction);
    switch (lower) {
      case 'cmd': {
        const cmd = commandLine(args);
        cfg.Cmd = cmd;
        if (cmd.length) cmdSet = true;
        break;
      }
      case 'entrypoint':
        cfg.Entrypoint = commandLine(args);
        if (!cmdSet) cfg.Cmd = null;
        break;
      case 'env': {
        const pairs = nameValues(args, 'ENV').map(([k, v]) => [expand(k), expand(v)] as const);
        const list = [...(cfg.Env ?? [])];
        for (const [k, v] of pairs) {
          const i = list.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) list[i] = `${k}=${v}`;
          else list.push(`${k}=${v}`);
        }
        cfg.Env = list;
        break;
      }
      case 'label': {
        const labels = { ...(cfg.Labels ?? {}) };
        for (const [k, v] of nameValues(args, 'LABEL')) labels[expand(k)] = expand(v);
        cfg.Labels = labels;
        break;
      }
      case 'expose': {
        const words = splitWhitespace(args).flatMap((w) => splitWhitespace(expand(w)));
        if (words.length === 0) throw new InvalidArgument('EXPOSE requires at least one argument');
        const ports = { ...(cfg.ExposedPorts ?? {}) };
        for (const w of words) for (const p of exposedPorts(w)) ports[p] = {};
        cfg.ExposedPorts = ports;
        break;
      }
      case 'user': {
        const user = expand(args.trim());
        if (!user) throw new InvalidArgument('USER requires exactly one argument');
        cfg.User = user;
        break;
      }
      case 'workdir': {
        const dir = expand(args.trim());
        if (!dir) throw new InvalidArgument('WORKDIR requires exactly one argument');
        cfg.WorkingDir = dir.startsWith('/') ? posix.normalize(dir) : posix.join('/', cfg.WorkingDir ?? '', dir);
        if (cfg.WorkingDir.length > 1) cfg.WorkingDir = cfg.WorkingDir.replace(/\/+$/, '');
        break;
      }
      case 'volume': {
        const json = jsonArray(args);
        const list = (json ?? splitWhitespace(args)).map(expand);
        if (list.length === 0) throw new InvalidArgument('VOLUME requires at least one argument');
        const volumes = { ...(cfg.Volumes ?? {}) };
        for (const v of list) {
          if (v === '') throw new InvalidArgument('VOLUME specified can not be an empty string');
          volumes[v] = {};
        }
        cfg.Volumes = volumes;
        break;
      }
      case 'stopsignal': {
        const sig = expand(args.trim());
        checkSignal(sig);
        cfg.StopSignal = sig;
        break;
      }
      case 'onbuild': {
        const trigger = args.trim();
        const first = trigger.split(/\s+/)[0]!.toUpperCase();
        if (!trigger) throw new InvalidArgument('ONBUILD requires at least one argument');
        if (first === 'ONBUILD') throw new InvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (first === 'FROM' || first === 'MAINTAINER') throw new InvalidArgument(`${first} isn't allowed as an ONBUILD trigger`);
        cfg.OnBuild = [...(cfg.OnBuild ?? []), trigger];
        break;
      }
      case 'healthcheck':
        cfg.Healthcheck = healthcheck(args);
        break;
    }
  }
  return cfg;
}

/** Lines of a Dockerfile: comments and blank lines skipped, `\` continuations joined. */
function instructions(text: string): Array<{ instruction: string; args: string }> {
  const out: Array<{ instruction: string; args: string }> = [];
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue; // comments inside a continued instruction
    const continued = /(^|[^\\])\\\s*$/.test(raw) || /^\\\s*$/.test(raw);
    pending += continued ? raw.replace(/\\\s*$/, '') : raw;
    if (continued) continue;
    push(pending);
    pending = '';
  }
  if (pending.trim() !== '') push(pending);
  return out;

  function push(line: string) {
    const m = /^\s*(\S+)\s*(.*)$/s.exec(line);
    if (m) out.push({ instruction: m[1]!, args: m[2]!.trim() });
  }
}

/** A JSON array of strings (Dockerfile's exec form), or undefined for anything else. */
function jsonArray(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  } catch {
    // shell form
  }
  return undefined;
}

/** CMD and ENTRYPOINT: exec form as given, shell form under `/bin/sh -c`. */
function commandLine(args: string): string[] {
  const json = jsonArray(args);
  if (json) return json;
  return ['/bin/sh', '-c', args];
}

function splitWhitespace(s: string): string[] {
  return s.split(/[ \t\r\n]+/).filter(Boolean);
}

/** Words split on unquoted whitespace; quotes and escapes kept for the expansion to read. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!quote && /\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '\\' && quote !== "'" && i + 1 < s.length) {
      cur += c + s[++i]!;
      continue;
    }
    if (!quote && (c === '"' || c === "'")) quote = c;
    else if (quote === c) quote = '';
    cur += c;
  }
  if (quote) throw new InvalidArgument(`unexpected end of statement while looking for matching ${quote}`);
  if (inWord) out.push(cur);
  return out;
}

/** ENV and LABEL: `k=v k2="v 2"`, or the legacy `k value with spaces`. */
function nameValues(args: string, what: string): Array<[string, string]> {
  const ws = words(args);
  if (ws.length === 0) throw new InvalidArgument(`${what} requires at least one argument`);
  if (!ws[0]!.includes('=')) {
    // legacy: the first word is the name, the rest of the line the value
    const rest = args.trim().slice(ws[0]!.length).trim();
    if (!rest) throw new InvalidArgument(`${what} must have two arguments`);
    return [[ws[0]!, rest]];
  }
  return ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new InvalidArgument(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    if (eq === 0) throw new InvalidArgument(`${what} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function envMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return m;
}

/** Dockerfile word processing: quotes removed, escapes applied, `$VAR`/`${VAR…}` expanded from the config's Env. */
export function expandWord(word: string, env: Map<string, string>, instruction = ''): string {
  let out = '';
  let i = 0;
  const n = word.length;
  const variable = (): string => {
    // at a '$'
    i++;
    if (i >= n) return '$';
    const c = word[i]!;
    if (c === '{') {
      const end = matchingBrace(word, i);
      if (end < 0) throw new InvalidArgument(`${instruction}: missing '}' in ${JSON.stringify(word)}`);
      const inner = word.slice(i + 1, end);
      i = end + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?$/s.exec(inner);
      if (!m) throw new InvalidArgument(`${instruction}: bad substitution ${JSON.stringify('${' + inner + '}')}`);
      const [, name, op, rest] = m;
      const set = env.has(name!);
      const value = env.get(name!) ?? '';
      const nonEmpty = op?.startsWith(':') ? value !== '' : set;
      switch (op?.replace(':', '')) {
        case undefined:
          return value;
        case '-':
          return nonEmpty ? value : expandWord(rest!, env, instruction);
        case '+':
          return nonEmpty ? expandWord(rest!, env, instruction) : '';
        case '?':
          if (!nonEmpty) throw new InvalidArgument(`${name}: ${rest || 'is not allowed to be unset'}`);
          return value;
      }
      return value;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i));
    if (!m) return '$';
    i += m[0].length;
    return env.get(m[0]) ?? '';
  };
  while (i < n) {
    const c = word[i]!;
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw new InvalidArgument(`unexpected end of statement while looking for matching '`);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new InvalidArgument('unexpected end of statement while looking for matching "');
        const d = word[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < n && '"\\$'.includes(word[i + 1]!)) {
          out += word[i + 1]!;
          i += 2;
        } else if (d === '$') {
          out += variable();
        } else {
          out += d;
          i++;
        }
      }
    } else if (c === '\\' && i + 1 < n) {
      out += word[i + 1]!;
      i += 2;
    } else if (c === '$') {
      out += variable();
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/** EXPOSE `80`, `53/udp`, `8000-8002/tcp` → `80/tcp`… */
function exposedPorts(spec: string): string[] {
  const m = /^(?:(?:[^:]*:)?[^:]*:)?(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(spec);
  if (!m) throw new InvalidArgument(`invalid containerPort: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidArgument(`invalid proto: ${proto}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (!(lo >= 0 && hi <= 65535 && lo <= hi)) throw new InvalidArgument(`invalid containerPort: ${spec}`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR', 'QUIT',
  'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ',
]);

/** Docker's signal.ParseSignal: a number, a name with or without SIG, or RTMIN+n / RTMAX-n. */
function checkSignal(sig: string): void {
  if (/^\d+$/.test(sig)) {
    if (Number(sig) === 0 || Number(sig) > 64) throw new InvalidArgument(`invalid signal: ${sig}`);
    return;
  }
  const name = sig.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS.has(name) || /^RTMIN(\+([1-9]|1[0-5]))?$/.test(name) || /^RTMAX(-([1-9]|1[0-4]))?$/.test(name)) return;
  throw new InvalidArgument(`invalid signal: ${sig}`);
}

/** Go durations: `30s`, `1m30s`, `500ms` → nanoseconds. */
function duration(flag: string, v: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== v.length || v === '') throw new InvalidArgument(`invalid argument "${v}" for "--${flag}" flag: time: invalid duration "${v}"`);
  return Math.round(total);
}

function healthcheck(args: string): RunConfig['Healthcheck'] {
  let rest = args.trim();
  const hc: NonNullable<RunConfig['Healthcheck']> = { Test: [] };
  for (;;) {
    const m = /^--([a-z-]+)=(\S*)\s*/.exec(rest);
    if (!m) break;
    rest = rest.slice(m[0].length);
    const [, flag, value] = m;
    switch (flag) {
      case 'interval':
        hc.Interval = duration(flag, value!);
        break;
      case 'timeout':
        hc.Timeout = duration(flag, value!);
        break;
      case 'start-period':
        hc.StartPeriod = duration(flag, value!);
        break;
      case 'start-interval':
        hc.StartInterval = duration(flag, value!);
        break;
      case 'retries':
        if (!/^\d+$/.test(value!)) throw new InvalidArgument(`invalid argument "${value}" for "--retries" flag`);
        hc.Retries = Number(value);
        break;
      default:
        throw new InvalidArgument(`Unknown flag: ${flag}`);
    }
  }
  const [kind, ...more] = rest.split(/\s+/);
  const body = rest.slice(kind?.length ?? 0).trim();
  switch (kind?.toUpperCase()) {
    case 'NONE':
      if (more.length || hc.Interval !== undefined || hc.Retries !== undefined) throw new InvalidArgument("HEALTHCHECK NONE takes no arguments");
      return { Test: ['NONE'] };
    case 'CMD': {
      if (!body) throw new InvalidArgument('Missing command after HEALTHCHECK CMD');
      const json = jsonArray(body);
      hc.Test = json ? ['CMD', ...json] : ['CMD-SHELL', body];
      return hc;
    }
    default:
      throw new InvalidArgument(`Unknown type ${JSON.stringify(kind ?? '')} in HEALTHCHECK (try CMD)`);
  }
}
