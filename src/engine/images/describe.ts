// Images as Docker's API shows them: the summary of GET /images/json, the full inspect, the
// history, and the container-config shape of an image's `config` (which containers reuse).
import { ImageStore, type ImageConfig, type ImageRecord } from './image-store.ts';

/** API versions where Docker dropped fields. */
const VIRTUAL_SIZE_REMOVED = '1.44';
const CONTAINER_CONFIG_REMOVED = '1.45';

export function versionLess(a: string, b: string): boolean {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am! < bm! || (am === bm && an! < bn!);
}

/** The image's `config` in Docker's container-config shape, every field Docker always writes. */
export function dockerConfig(c: Record<string, unknown> | undefined): Record<string, unknown> {
  const cfg = c ?? {};
  const out: Record<string, unknown> = {
    Hostname: '',
    Domainname: '',
    User: cfg['User'] ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
  };
  if (cfg['ExposedPorts']) out['ExposedPorts'] = cfg['ExposedPorts'];
  Object.assign(out, { Tty: false, OpenStdin: false, StdinOnce: false, Env: cfg['Env'] ?? null, Cmd: cfg['Cmd'] ?? null });
  if (cfg['Healthcheck']) out['Healthcheck'] = cfg['Healthcheck'];
  if (cfg['ArgsEscaped']) out['ArgsEscaped'] = cfg['ArgsEscaped'];
  Object.assign(out, {
    Image: cfg['Image'] ?? '',
    Volumes: cfg['Volumes'] ?? null,
    WorkingDir: cfg['WorkingDir'] ?? '',
    Entrypoint: cfg['Entrypoint'] ?? null,
    OnBuild: cfg['OnBuild'] ?? null,
    Labels: cfg['Labels'] ?? null,
  });
  if (cfg['StopSignal']) out['StopSignal'] = cfg['StopSignal'];
  if (cfg['Shell']) out['Shell'] = cfg['Shell'];
  return out;
}

const unixSeconds = (iso: string | undefined) => (iso ? Math.floor(Date.parse(iso) / 1000) || 0 : 0);

/** Docker shows names short: `busybox:latest`, `127.0.0.1:5000/library/web:latest`. */
const familiar = (names: string[]) => names.map((n) => ImageStore.familiar(n));

export interface ImageFacts {
  rec: ImageRecord;
  config: ImageConfig;
  size: number;
}

export async function imageFacts(store: ImageStore, rec: ImageRecord): Promise<ImageFacts> {
  const [config, size] = await Promise.all([store.readConfig(rec.id), store.size(rec.id)]);
  return { rec, config, size };
}

export function imageSummary(f: ImageFacts, apiVersion: string, opts: { containers?: number } = {}): Record<string, unknown> {
  const tags = familiar(f.rec.tags);
  const digests = familiar(f.rec.digests);
  const old = versionLess(apiVersion, VIRTUAL_SIZE_REMOVED);
  const none = old && tags.length === 0 && digests.length === 0;
  const out: Record<string, unknown> = {
    Containers: opts.containers ?? -1,
    Created: unixSeconds(f.config.created),
    Id: f.rec.id,
    Labels: (f.config.config?.['Labels'] as Record<string, string> | undefined) ?? null,
    ParentId: '',
    RepoDigests: none ? ['<none>@<none>'] : old && digests.length === 0 ? null : digests,
    RepoTags: none ? ['<none>:<none>'] : old && tags.length === 0 ? null : tags,
    SharedSize: -1,
    Size: f.size,
  };
  if (old) out['VirtualSize'] = f.size;
  return out;
}

export function imageInspect(f: ImageFacts, apiVersion: string, graph: { lowerDirs: string[] }): Record<string, unknown> {
  const c = f.config;
  const history = c.history ?? [];
  const out: Record<string, unknown> = {
    Id: f.rec.id,
    RepoTags: familiar(f.rec.tags),
    RepoDigests: familiar(f.rec.digests),
    Parent: '',
    Comment: history.length ? (history[history.length - 1]!.comment ?? '') : (c.comment ?? ''),
    Created: c.created ?? '',
  };
  if (versionLess(apiVersion, CONTAINER_CONFIG_REMOVED)) {
    out['Container'] = c.container ?? '';
    out['ContainerConfig'] = dockerConfig(c.container_config);
  }
  Object.assign(out, {
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: dockerConfig(c.config),
    Architecture: c.architecture ?? '',
  });
  if (c.variant) out['Variant'] = c.variant;
  Object.assign(out, { Os: c.os ?? '', Size: f.size });
  if (versionLess(apiVersion, VIRTUAL_SIZE_REMOVED)) out['VirtualSize'] = f.size;
  const dirs = [...graph.lowerDirs].reverse(); // overlay lists the top layer first
  out['GraphDriver'] = {
    Data: dirs.length > 1 ? { LowerDir: dirs.slice(1).join(':'), MergedDir: '', UpperDir: dirs[0], WorkDir: '' } : { MergedDir: '', UpperDir: dirs[0] ?? '', WorkDir: '' },
    Name: 'overlay2',
  };
  out['RootFS'] = { Type: 'layers', Layers: c.rootfs?.diff_ids ?? [] };
  out['Metadata'] = { LastTagTime: f.rec.lastTagTime ?? '0001-01-01T00:00:00Z' };
  return out;
}

/** Newest first; the top entry carries the image id and tags, the others `<missing>`, as Docker shows a pulled image. */
export async function imageHistory(store: ImageStore, f: ImageFacts): Promise<Array<Record<string, unknown>>> {
  const chains = await store.chainIdsOf(f.rec.id);
  const sizes = await Promise.all(chains.map(async (ch) => (await store.layers.info(ch))?.size ?? 0));
  const history = f.config.history?.length ? f.config.history : chains.map(() => ({}) as NonNullable<ImageConfig['history']>[number]);
  let layer = 0;
  const rows = history.map((h) => {
    const size = h.empty_layer ? 0 : (sizes[layer++] ?? 0);
    return { Comment: h.comment ?? '', Created: unixSeconds(h.created), CreatedBy: h.created_by ?? '', Id: '<missing>', Size: size, Tags: null as string[] | null };
  });
  rows.reverse();
  if (rows.length) {
    rows[0]!.Id = f.rec.id;
    rows[0]!.Tags = f.rec.tags.length ? familiar(f.rec.tags) : null;
  }
  return rows;
}
