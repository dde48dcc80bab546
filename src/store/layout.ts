// Creates the store's directories with their modes (see docs/layout.md). Idempotent and cheap
// enough to run at every start; nothing is ever removed here.
import { promises as fs } from 'node:fs';
import type { StorePaths } from '../config/paths.ts';

/** Directory → mode. Root-only where the contents are private (layers hold image files with their owners). */
export function layoutDirs(p: StorePaths): Array<[string, number]> {
  return [
    [p.root, 0o711],
    [p.images, 0o700],
    [p.layers, 0o700],
    [p.containers, 0o710],
    [p.volumes, 0o701],
    [p.networks, 0o700],
    [p.runroot, 0o711],
    [p.runContainers, 0o710],
    [p.locks, 0o700],
  ];
}

export async function ensureLayout(p: StorePaths): Promise<void> {
  for (const [dir, mode] of layoutDirs(p)) {
    await fs.mkdir(dir, { recursive: true, mode });
    // mkdir's mode is filtered by the umask, and an existing dir keeps its old mode
    await fs.chmod(dir, mode);
  }
}
