// Volumes as Docker's API shows them, the filters of its listings, and their sizes.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgument } from '../errors.ts';
import { checkFilterKeys, filterBool, matchLabels, matchNotLabels, type Filters } from '../filters.ts';
import type { VolumeRecord } from './store.ts';

export interface VolumeApi {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

export function volumeApi(v: VolumeRecord, mountpoint: string, usage?: { Size: number; RefCount: number }): VolumeApi {
  return {
    CreatedAt: v.CreatedAt,
    Driver: v.Driver,
    Labels: v.Labels,
    Mountpoint: mountpoint,
    Name: v.Name,
    Options: v.Options,
    Scope: 'local',
    ...(usage ? { UsageData: usage } : {}),
  };
}

/** Docker's Args.Match: the value itself, or a regular expression found in the name. */
function matchName(name: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    if (p === name) return true;
    try {
      return new RegExp(p).test(name);
    } catch {
      return false;
    }
  });
}

/** GET /volumes filters: dangling, driver, label, name. `refs` counts each volume's users. */
export function volumeListFilter(filters: Filters, refs: (name: string) => number): (v: VolumeRecord) => boolean {
  checkFilterKeys(filters, ['dangling', 'driver', 'label', 'name']);
  const dangling = filterBool('dangling', filters['dangling']);
  return (v) => {
    if (filters['driver']?.length && !filters['driver'].includes(v.Driver)) return false;
    if (filters['name']?.length && !matchName(v.Name, filters['name'])) return false;
    if (!matchLabels(v.Labels, filters['label'])) return false;
    if (dangling !== undefined && (refs(v.Name) === 0) !== dangling) return false;
    return true;
  };
}

/**
 * POST /volumes/prune filters: label, label!, all. Without `all=true` only anonymous volumes
 * (API ≥ 1.42; the caller sets `all` for older versions, where prune took every unused one).
 */
export function volumePruneFilter(filters: Filters): (v: VolumeRecord) => boolean {
  checkFilterKeys(filters, ['label', 'label!', 'all']);
  const all = filters['all'] ?? [];
  if (all.length > 1) throw new InvalidArgument(`invalid filter 'all=${all.join(',')}': only one value is expected`);
  let everything = false;
  if (all.length === 1) {
    const b = parseGoBool(all[0]!);
    if (b === undefined) throw new InvalidArgument(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(all[0])}: invalid syntax`);
    everything = b;
  }
  return (v) => {
    if (!everything && !v.Anonymous) return false;
    if (!matchLabels(v.Labels, filters['label'])) return false;
    if (!matchNotLabels(v.Labels, filters['label!'])) return false;
    return true;
  };
}

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Bytes used under a directory (files' apparent sizes, each inode once), as Docker's directory.Size; -1 when it can't be read. */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      const st = await fs.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  try {
    await fs.stat(dir);
  } catch {
    return -1;
  }
  await walk(dir);
  return total;
}
