// Whether a process still runs. kill(pid, 0) alone is not enough: a process that died but was
// not reaped (a zombie, e.g. a conmon whose parent berth was SIGKILLed, under an init that
// doesn't reap) still answers it, and would make a dead container look alive forever.
import { readFileSync } from 'node:fs';

export function processAlive(pid: number): boolean {
  if (!pid || pid < 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) S …": the state follows the last ')' (comm may hold spaces and parentheses)
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
