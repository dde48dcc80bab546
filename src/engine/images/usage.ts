// The image part of GET /system/df: every image with its size and the size it shares with
// others (layers are shared by chain id), and the total size of all layers. Then the
// container part: each container's summary with the size of its writable layer.
import type { EngineContext } from '../context.ts';
import { imageFacts, imageSummary } from './describe.ts';
import { ImageStore } from './image-store.ts';

export async function imageDiskUsage(engine: EngineContext, apiVersion: string): Promise<{ LayersSize: number; Images: Array<Record<string, unknown>> }> {
  const store = new ImageStore(engine);
  const images = await store.list();
  const chainsOf = new Map<string, string[]>();
  const users = new Map<string, number>();
  for (const rec of images) {
    const chains = await store.chainIdsOf(rec.id).catch(() => [] as string[]);
    chainsOf.set(rec.id, chains);
    for (const c of new Set(chains)) users.set(c, (users.get(c) ?? 0) + 1);
  }
  const sizes = new Map<string, number>();
  let layersSize = 0;
  for (const c of await store.layers.list()) {
    const size = (await store.layers.info(c))?.size ?? 0;
    sizes.set(c, size);
    layersSize += size;
  }
  const { ContainerStore } = await import('../containers/store.ts');
  const containersOf = new Map<string, number>();
  for (const c of await new ContainerStore(engine).list()) containersOf.set(c.Image, (containersOf.get(c.Image) ?? 0) + 1);
  const out = [];
  for (const rec of images) {
    const f = await imageFacts(store, rec);
    const shared = [...new Set(chainsOf.get(rec.id))].filter((c) => (users.get(c) ?? 0) > 1).reduce((n, c) => n + (sizes.get(c) ?? 0), 0);
    out.push({ ...imageSummary(f, apiVersion, { containers: containersOf.get(rec.id) ?? 0 }), SharedSize: shared });
  }
  return { LayersSize: layersSize, Images: out };
}

export async function containerDiskUsage(engine: EngineContext): Promise<{ Containers: Array<Record<string, unknown>> }> {
  const { listContainers, containerSizes } = await import('../containers/operations.ts');
  const { containerSummary } = await import('../containers/describe.ts');
  const out = [];
  for (const rec of await listContainers(engine, { all: true })) out.push(containerSummary(rec, await containerSizes(engine, rec)));
  return { Containers: out };
}
