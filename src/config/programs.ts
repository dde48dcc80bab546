// Finding the external programs berth drives.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The absolute path of `name` in $PATH (plus the sbin dirs), or `name` itself when not found. */
export function findProgram(name: string, env: NodeJS.ProcessEnv = process.env): string {
  if (name.includes('/')) return name;
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/libexec/podman', '/usr/lib/podman'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return name;
}
