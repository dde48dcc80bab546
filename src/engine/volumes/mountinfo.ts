// Whether something is mounted at a path, from /proc/self/mountinfo: comparing st_dev with the
// parent's misses a bind mount from the same filesystem, which `o=bind` volumes are.
import { promises as fs } from 'node:fs';

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The mount points of this mount namespace, in mount order. */
export async function mountPoints(): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'latin1');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.push(Buffer.from(unescapeMountPath(field), 'latin1').toString('utf8'));
  }
  return out;
}

export async function isMountedAt(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}
