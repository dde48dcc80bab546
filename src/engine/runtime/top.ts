// `docker top`, Docker's way: run the host's `ps` with the client's arguments, find the PID
// column in its header, and keep the rows whose pid is in the container's cgroup (thread rows
// of `ps -m`, whose PID is `-`, follow the process above them).
import type { EngineContext } from '../context.ts';
import { containerEvent } from '../containers/events.ts';
import { ContainerStore } from '../containers/store.ts';
import { Conflict, SystemError } from '../errors.ts';
import { ProgramFailed, runProgram } from '../../sys/program.ts';
import { cgroupPids, ProcessGone, runningPid } from './cgroups.ts';

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

export const DEFAULT_PS_ARGS = '-ef';

/** `pid=PID`-style renames of the PID column are allowed, others of it (which would hide it) not; a 500 as Docker's. */
export function validatePsArgs(psArgs: string): void {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g)) {
    if (m[1] !== 'pid') throw new SystemError(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
}

// ASCII whitespace only: a command line may hold other spaces that must not split it.
const fields = (line: string) => line.split(/[\t\n\f\r ]+/).filter(Boolean);

/** The rows of `ps` output whose PID is in `pids`, each cut to as many fields as there are titles. */
export function parsePsOutput(output: string, pids: readonly number[]): TopResult {
  const lines = output.split('\n');
  const Titles = fields(lines[0] ?? '');
  const pidIndex = Titles.indexOf('PID');
  if (pidIndex < 0) throw new SystemError("Couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const Processes: string[][] = [];
  // the last column (the command) takes the rest of the line, spaces and all
  const row = (f: string[]) => [...f.slice(0, Titles.length - 1), f.slice(Titles.length - 1).join(' ')];
  let inContainer = false;
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const f = fields(line);
    const pidField = f[pidIndex];
    if (pidField === undefined) continue;
    if (pidField === '-') {
      if (inContainer) Processes.push(row(f));
      continue;
    }
    const pid = Number(pidField);
    if (!Number.isInteger(pid)) throw new SystemError(`Unexpected pid '${pidField}'`);
    inContainer = wanted.has(pid);
    if (inContainer) Processes.push(row(f));
  }
  return { Titles, Processes };
}

/**
 * The processes of a container, as `ps <psArgs>` shows them. `target` is the container's init
 * pid (its cgroup gives the rest) or the pids themselves. ps failing is a SystemError with the
 * first line ps wrote on stderr, as Docker words it.
 */
export async function top(target: number | readonly number[], psArgs = DEFAULT_PS_ARGS): Promise<TopResult> {
  const args = (psArgs || DEFAULT_PS_ARGS).split(' ').filter(Boolean);
  validatePsArgs(psArgs);
  const pids = typeof target === 'number' ? await cgroupPids(target) : target;
  let stdout: string;
  try {
    // -q limits ps to our pids (fast on a busy host); some options (f) refuse it, so retry without
    ({ stdout } = await runProgram('ps', [...args, `-q${pids.join(',')}`], { timeoutMs: 10_000 }));
  } catch {
    try {
      ({ stdout } = await runProgram('ps', args, { timeoutMs: 10_000 }));
    } catch (err) {
      const said = err instanceof ProgramFailed ? err.stderr.split('\n')[0] : '';
      throw new SystemError(`ps: ${said || (err as Error).message}`, { cause: err });
    }
  }
  return parsePsOutput(stdout, pids);
}

/** `docker top <container>`: the record's container must be running (or paused). */
export async function containerTop(ctx: EngineContext, idOrName: string, psArgs?: string): Promise<TopResult> {
  const rec = await new ContainerStore(ctx).find(idOrName);
  if (rec.State.Status === 'restarting') throw new Conflict(`Container ${rec.Id} is restarting, wait until the container is running`);
  const notRunning = () => new Conflict(`Container ${rec.Id} is not running`);
  const pid = runningPid(rec);
  if (!pid) throw notRunning();
  let result: TopResult;
  try {
    result = await top(pid, psArgs || DEFAULT_PS_ARGS);
  } catch (err) {
    if (err instanceof ProcessGone) throw notRunning();
    throw err;
  }
  // Docker records each top as an event
  await containerEvent(ctx, rec, 'top');
  return result;
}
