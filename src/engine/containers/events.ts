// Container events as Docker words them: Actor.ID the container id, attributes the image (as
// the client named it), the name, the labels, and whatever the action adds (exitCode, signal…).
import type { EngineContext } from '../context.ts';
import { recordEvent } from '../events/journal.ts';
import type { ContainerRecord } from './types.ts';

export function containerEvent(ctx: EngineContext, rec: ContainerRecord, action: string, extra: Record<string, string> = {}): Promise<void> {
  return recordEvent(ctx, {
    type: 'container',
    action,
    id: rec.Id,
    attributes: { ...(rec.Config.Labels ?? {}), image: rec.ImageName, name: rec.Name, ...extra },
  });
}
