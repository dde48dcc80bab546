// What the network step is about to set up for a container, written before it does anything
// (`<runroot>/network/<container id>.json`): the namespace, each network's definition as given to
// netavark and the attachment, the port mappings. Teardown works from this file alone, so it
// can undo a setup whose result never reached the record (a crash in between), or one whose
// network was removed since. It is deleted last, when everything else is gone.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { readJson, writeJsonAtomic } from '../../store/atomic.ts';
import type { NetavarkAttachment, NetavarkPort } from './netavark.ts';
import type { NetavarkNetwork } from './network-store.ts';

export interface IntentNetwork {
  network: NetavarkNetwork;
  attachment: NetavarkAttachment;
  /** The port mappings were set up on this network (the ones of the container's start). */
  withPorts: boolean;
}

export interface NetworkIntent {
  containerId: string;
  containerName: string;
  netns: string;
  ports: NetavarkPort[];
  networks: Record<string, IntentNetwork>;
}

export function intentDir(ctx: EngineContext): string {
  return join(ctx.paths.runroot, 'network');
}

function intentPath(ctx: EngineContext, containerId: string): string {
  return join(intentDir(ctx), `${containerId}.json`);
}

export function readIntent(ctx: EngineContext, containerId: string): Promise<NetworkIntent | undefined> {
  return readJson<NetworkIntent>(intentPath(ctx, containerId)).catch(() => undefined);
}

export async function writeIntent(ctx: EngineContext, intent: NetworkIntent): Promise<void> {
  await fs.mkdir(intentDir(ctx), { recursive: true, mode: 0o700 });
  // the runroot is a tmpfs: no fsync needed to survive what it has to survive (a process crash)
  await writeJsonAtomic(intentPath(ctx, intent.containerId), intent, { durable: false, mode: 0o600 });
}

export async function removeIntent(ctx: EngineContext, containerId: string): Promise<void> {
  await fs.rm(intentPath(ctx, containerId), { force: true });
}

/** Whether the container still holds what an intent names (the IPAM's test for a stale lease). */
export async function hasIntent(ctx: EngineContext, containerId: string): Promise<boolean> {
  return fs.access(intentPath(ctx, containerId)).then(() => true, () => false);
}
