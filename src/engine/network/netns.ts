// A container's network namespace, kept as a file: `<runroot>/netns/<container id>`, a bind
// mount of the namespace (unshare(1) --net=FILE makes one and mounts it there), so it lives
// while no process is in it yet, and teardown can still reach it after the container died.
// The mount lands in the caller's mount namespace and follows the runroot's propagation
// (shared under systemd), as `ip netns` mounts do under /run/netns.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { MNT_DETACH, umount } from '../../sys/libc.ts';
import { runProgram } from '../../sys/program.ts';
import { findProgram } from '../../config/programs.ts';

export function netnsDir(ctx: EngineContext): string {
  return join(ctx.paths.runroot, 'netns');
}

export function netnsPathFor(ctx: EngineContext, containerId: string): string {
  return join(netnsDir(ctx), containerId);
}

/** Makes the container's namespace (replacing a stale one from an earlier run); returns its path. */
export async function createNetns(ctx: EngineContext, containerId: string): Promise<string> {
  const path = netnsPathFor(ctx, containerId);
  await removeNetns(ctx, containerId);
  await fs.mkdir(netnsDir(ctx), { recursive: true, mode: 0o755 });
  await fs.writeFile(path, '', { mode: 0o444 });
  try {
    await runProgram(findProgram('unshare'), [`--net=${path}`, 'true'], { timeoutMs: 10_000 });
  } catch (err) {
    await fs.rm(path, { force: true });
    throw err;
  }
  return path;
}

/** Unmounts and deletes the namespace file (idempotent). */
export async function removeNetns(ctx: EngineContext, containerId: string): Promise<void> {
  const path = netnsPathFor(ctx, containerId);
  // a file mounted twice (a crash between two creates) needs as many unmounts
  for (let i = 0; i < 8; i++) {
    try {
      if (!umount(path, MNT_DETACH)) break;
    } catch {
      break;
    }
  }
  await fs.rm(path, { force: true });
}
