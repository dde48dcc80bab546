// Docker's image events, as its daemon records them: the actor is the image id (or, for pull
// and push, the reference: `busybox:latest`), and the attributes are the image's labels plus
// `name` (the familiar name for tag, pull and push; the image id for untag, delete, save, load
// and import). Recording never fails the operation (see recordEvent).
import type { EngineContext } from '../context.ts';
import { recordEvent } from './journal.ts';

type Labels = Record<string, unknown> | null | undefined;

export async function recordImageEvent(
  ctx: EngineContext,
  action: string,
  id: string,
  name: string | undefined,
  labels?: Labels | Promise<Labels>,
): Promise<void> {
  const attributes: Record<string, string> = {};
  const got = await Promise.resolve(labels).catch(() => undefined);
  if (got && typeof got === 'object') for (const [k, v] of Object.entries(got)) if (typeof v === 'string') attributes[k] = v;
  if (name !== undefined) attributes['name'] = name;
  await recordEvent(ctx, { type: 'image', action, id, attributes });
}

/** An image's labels from its config; none when it cannot be read (never rejects). */
export function imageLabels(store: { readConfig(id: string): Promise<{ config?: Record<string, unknown> }> }, id: string): Promise<Labels> {
  return store.readConfig(id).then(
    (c) => c.config?.['Labels'] as Labels,
    () => undefined,
  );
}

/**
 * What `DELETE /images/{name}` answered, as events: `untag` for each name removed, `delete`
 * when the image itself went. Both name the image by its id; only untag still has its labels.
 */
export async function recordRemoval(ctx: EngineContext, imageId: string, items: Array<{ Untagged: string } | { Deleted: string }>, labels: Labels): Promise<void> {
  for (const item of items) {
    if ('Untagged' in item) await recordImageEvent(ctx, 'untag', imageId, imageId, labels);
    else if (item.Deleted === imageId) await recordImageEvent(ctx, 'delete', imageId, imageId);
  }
}

/** An image removed by prune: `untag` for each of its `names`, then `delete`. */
export async function recordPruned(ctx: EngineContext, imageId: string, names: number, labels: Labels): Promise<void> {
  for (let i = 0; i < names; i++) await recordImageEvent(ctx, 'untag', imageId, imageId, labels);
  await recordImageEvent(ctx, 'delete', imageId, imageId);
}
