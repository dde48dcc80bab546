// The OCI runtime adapter: every runc call berth makes, with its flags, timeouts and errors.
// berth keeps runc's state under its own runroot (`--root <runroot>/runc`), so a second engine
// on the host (or a second berth with another runroot) never sees berth's containers.
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { SystemError } from '../errors.ts';
import { ProgramFailed, runProgram, type RunOptions } from '../../sys/program.ts';
import type { OciLinuxResources } from '../containers/resources.ts';

/** runc's global flags: conmon passes them too (--runtime-arg). */
export function runcGlobalArgs(ctx: EngineContext): string[] {
  return ['--root', join(ctx.paths.runroot, 'runc')];
}

/** What runc said, without its logrus decoration (`time=… level=error msg="…"`). */
export function runcMessage(stderr: string): string {
  const msgs = [...stderr.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
  return msgs.length ? msgs[msgs.length - 1]! : stderr.trim();
}

export class RuncFailed extends SystemError {
  constructor(
    readonly said: string,
    options: { cause: unknown },
  ) {
    super(said, options);
  }
}

export async function runc(ctx: EngineContext, args: string[], opts: RunOptions = {}): Promise<string> {
  try {
    const { stdout } = await runProgram(ctx.programs.runc, [...runcGlobalArgs(ctx), ...args], { timeoutMs: 30_000, ...opts });
    return stdout;
  } catch (err) {
    if (err instanceof ProgramFailed) throw new RuncFailed(runcMessage(err.stderr) || err.message, { cause: err });
    throw err;
  }
}

export interface RuncState {
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  pid: number;
}

/** The container's state as runc knows it, or undefined when runc has no such container. */
export async function runcState(ctx: EngineContext, id: string): Promise<RuncState | undefined> {
  try {
    return JSON.parse(await runc(ctx, ['state', id])) as RuncState;
  } catch (err) {
    if (err instanceof RuncFailed && /does not exist|not exist/.test(err.said)) return undefined;
    throw err;
  }
}

export const runcStart = (ctx: EngineContext, id: string) => runc(ctx, ['start', id]);

/** Sends `signal` (a name without SIG, or a number) to the container's init (or every process with `all`). */
export async function runcKill(ctx: EngineContext, id: string, signal: string | number, all = false): Promise<void> {
  await runc(ctx, ['kill', ...(all ? ['--all'] : []), id, String(signal)]);
}

/** Forgets a stopped container (force: kills it first); quiet when runc has no such container. */
export async function runcDelete(ctx: EngineContext, id: string, force = false): Promise<void> {
  try {
    await runc(ctx, ['delete', ...(force ? ['--force'] : []), id]);
  } catch (err) {
    if (err instanceof RuncFailed && /does not exist|not exist/.test(err.said)) return;
    throw err;
  }
}

export const runcPause = (ctx: EngineContext, id: string) => runc(ctx, ['pause', id]);
export const runcResume = (ctx: EngineContext, id: string) => runc(ctx, ['resume', id]);

/** New limits for a running container, live. */
export async function runcUpdate(ctx: EngineContext, id: string, resources: OciLinuxResources): Promise<void> {
  await runc(ctx, ['update', '--resources', '-', id], { input: JSON.stringify(resources) });
}
