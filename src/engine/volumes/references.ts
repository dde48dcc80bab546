// Which containers use which volumes: Docker's references, which keep a volume from `volume rm`
// and prune and make it not dangling. A container's record names its volumes (MountPoints);
// between planMounts and the record's write, a pending marker
// `<runroot>/volumes/<name>/pending/<container id>` stands in for it (made under the volume's
// lock, so a remove either sees it or has removed the volume before the create found it).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { ContainerStore } from '../containers/store.ts';
import type { ContainerRecord } from '../containers/types.ts';

/** How long a create may take between its plan and its record before its marker counts as stale. */
const PENDING_MS = 5 * 60_000;

function pendingDir(ctx: EngineContext, name: string): string {
  return join(ctx.paths.runroot, 'volumes', name, 'pending');
}

export async function addPending(ctx: EngineContext, name: string, id: string): Promise<void> {
  const dir = pendingDir(ctx, name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.writeFile(join(dir, id), '');
}

export async function removePending(ctx: EngineContext, name: string, id: string): Promise<void> {
  await fs.rm(join(pendingDir(ctx, name), id), { force: true });
}

/** The volume names a record mounts. */
export function volumesOf(rec: ContainerRecord): string[] {
  return (rec.MountPoints ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!);
}

/** Volume name → ids of the containers that use it (records, then creates in flight). */
export async function volumeReferences(ctx: EngineContext): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const add = (name: string, id: string) => {
    const ids = out.get(name) ?? [];
    if (!ids.includes(id)) ids.push(id);
    out.set(name, ids);
  };
  const store = new ContainerStore(ctx);
  const recs = await store.list();
  const known = new Set(recs.map((r) => r.Id));
  for (const rec of recs) for (const name of volumesOf(rec)) add(name, rec.Id);
  const base = join(ctx.paths.runroot, 'volumes');
  for (const name of await fs.readdir(base).catch(() => [] as string[])) {
    const dir = pendingDir(ctx, name);
    for (const id of await fs.readdir(dir).catch(() => [] as string[])) {
      const st = await fs.stat(join(dir, id)).catch(() => undefined);
      if (!st) continue;
      if (known.has(id) || Date.now() - st.mtimeMs > PENDING_MS) {
        // the record took over (or the create died): the marker has done its work
        await fs.rm(join(dir, id), { force: true });
        continue;
      }
      if (await fs.stat(store.paths(id).dir).then(() => true, () => false)) add(name, id);
      else await fs.rm(join(dir, id), { force: true });
    }
  }
  return out;
}

/** The ids of the containers that use one volume. */
export async function referencesTo(ctx: EngineContext, name: string): Promise<string[]> {
  return (await volumeReferences(ctx)).get(name) ?? [];
}
