// registries.conf as the containers ecosystem writes it: the v2 TOML form (unqualified-search-
// registries, [[registry]] with prefix/location/insecure/blocked and [[registry.mirror]]) and the
// v1 form ([registries.search], [registries.insecure], [registries.block]), from the main file
// and then the drop-ins of registries.conf.d/ in name order, each refining what came before.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { InvalidArgument } from '../engine/errors.ts';
import { isRoot } from './paths.ts';

export interface Mirror {
  location: string;
  insecure: boolean;
}

export interface RegistryEntry {
  /** What references this entry applies to (a host, host/path, or *.domain). */
  prefix: string;
  /** Where to fetch from instead; the prefix itself when not set. */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: Mirror[];
}

export interface RegistriesConfig {
  unqualifiedSearch: string[];
  registries: RegistryEntry[];
  shortNameMode?: string;
}

export function emptyRegistriesConfig(): RegistriesConfig {
  return { unqualifiedSearch: [], registries: [] };
}

/** The files to read: $CONTAINERS_REGISTRIES_CONF alone, or the user's or system file plus drop-ins. */
export function registriesConfFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.CONTAINERS_REGISTRIES_CONF) return [env.CONTAINERS_REGISTRIES_CONF];
  const system = '/etc/containers/registries.conf';
  const files: string[] = [];
  let main = system;
  const dropinDirs = ['/etc/containers/registries.conf.d'];
  if (!isRoot()) {
    const userDir = join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'containers');
    const user = join(userDir, 'registries.conf');
    if (existsSync(user)) main = user;
    dropinDirs.push(join(userDir, 'registries.conf.d'));
  }
  files.push(main);
  for (const dir of dropinDirs) {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.conf')).sort();
    } catch {
      continue;
    }
    files.push(...names.map((n) => join(dir, n)));
  }
  return files;
}

export function loadRegistriesConfig(files: string[]): RegistriesConfig {
  let cfg = emptyRegistriesConfig();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    cfg = mergeRegistriesConfig(cfg, parseRegistriesConf(text, file));
  }
  return cfg;
}

/** A later file replaces the search list if it sets one, and entries with the same prefix. */
export function mergeRegistriesConfig(base: RegistriesConfig, next: Partial<RegistriesConfig>): RegistriesConfig {
  const registries = [...base.registries];
  for (const entry of next.registries ?? []) {
    const i = registries.findIndex((r) => r.prefix === entry.prefix);
    if (i >= 0) registries[i] = entry;
    else registries.push(entry);
  }
  return {
    unqualifiedSearch: next.unqualifiedSearch ?? base.unqualifiedSearch,
    registries,
    shortNameMode: next.shortNameMode ?? base.shortNameMode,
  };
}

type Toml = Record<string, unknown>;

export function parseRegistriesConf(text: string, file = 'registries.conf'): Partial<RegistriesConfig> {
  let doc: Toml;
  try {
    doc = parseToml(text) as Toml;
  } catch (err) {
    throw new InvalidArgument(`${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const v1 = doc['registries'];
  const hasV2 = 'registry' in doc || 'unqualified-search-registries' in doc;
  if (v1 !== undefined && hasV2) {
    throw new InvalidArgument(`${file}: mixing sysregistry v1/v2 is not supported`);
  }
  if (v1 !== undefined) return parseV1(v1 as Toml, file);
  return parseV2(doc, file);
}

function parseV2(doc: Toml, file: string): Partial<RegistriesConfig> {
  const out: Partial<RegistriesConfig> = {};
  if ('unqualified-search-registries' in doc) out.unqualifiedSearch = stringList(doc['unqualified-search-registries'], file, 'unqualified-search-registries');
  if (typeof doc['short-name-mode'] === 'string') out.shortNameMode = doc['short-name-mode'];
  const regs = doc['registry'];
  if (regs !== undefined) {
    if (!Array.isArray(regs)) throw new InvalidArgument(`${file}: [[registry]] must be an array of tables`);
    out.registries = regs.map((r: Toml) => {
      const location = optString(r['location'], file, 'location') ?? '';
      const prefix = optString(r['prefix'], file, 'prefix') || location;
      if (!prefix) throw new InvalidArgument(`${file}: a [[registry]] needs a prefix or a location`);
      const mirrors = Array.isArray(r['mirror'])
        ? (r['mirror'] as Toml[]).map((m) => ({
            location: optString(m['location'], file, 'mirror.location') ?? '',
            insecure: m['insecure'] === true,
          }))
        : [];
      return {
        prefix: stripScheme(prefix),
        location: stripScheme(location || prefix),
        insecure: r['insecure'] === true,
        blocked: r['blocked'] === true,
        mirrors: mirrors.filter((m) => m.location),
      };
    });
  }
  return out;
}

function parseV1(v1: Toml, file: string): Partial<RegistriesConfig> {
  const list = (key: string) => {
    const section = v1[key] as Toml | undefined;
    return section ? stringList(section['registries'] ?? [], file, `registries.${key}`) : [];
  };
  const search = list('search');
  const insecure = new Set(list('insecure'));
  const blocked = new Set(list('block'));
  const hosts = [...new Set([...search, ...insecure, ...blocked])];
  return {
    unqualifiedSearch: search,
    registries: hosts.map((h) => ({ prefix: h, location: h, insecure: insecure.has(h), blocked: blocked.has(h), mirrors: [] })),
  };
}

function stringList(v: unknown, file: string, key: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidArgument(`${file}: ${key} must be a list of strings`);
  return v as string[];
}

function optString(v: unknown, file: string, key: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InvalidArgument(`${file}: ${key} must be a string`);
  return v;
}

function stripScheme(s: string): string {
  return s.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}
