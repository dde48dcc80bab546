// The container monitor adapter: launching one conmon per container (and per exec session).
// conmon runs `runc create` (or `runc exec`), reports the new pid on a sync pipe, double-forks
// and lives on without berth: it keeps the container's stdio, writes the log, serves the
// attach socket, writes the exit code into the exit dir and runs the exit command
// (`berth cleanup <id>`). See ../shared/notes/conmon.md for what was checked on this machine.
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { EngineContext } from '../context.ts';
import { SystemError } from '../errors.ts';
import { lazyRequire } from '../../sys/lazy-require.ts';
import { runcGlobalArgs, runcMessage } from './runc.ts';

const childProcess = lazyRequire<typeof import('node:child_process')>('node:child_process');

export interface ConmonOptions {
  id: string;
  name: string;
  bundle: string;
  /** runc writes the container's pid here. */
  pidFile: string;
  conmonPidFile: string;
  /** conmon's log flags (from conmonLogArgs). */
  logArgs: string[];
  /**
   * conmon writes the exit code into `<exitDir>/<id>` (the container's id, even for an exec
   * session): an exec session needs a dir of its own, or it would fake the container's exit.
   */
  exitDir: string;
  /** The exit command and its arguments (berth cleanup …). */
  exitCommand: string[];
  tty: boolean;
  /** Keep a pipe to the container's stdin (fed through the attach socket). */
  stdin: boolean;
  /** Don't close the container's stdin when the first attached client detaches. */
  leaveStdinOpen: boolean;
  /**
   * An exec session: the process spec file; conmon runs `runc exec` in the container `id`.
   * `attach` (conmon's --exec-attach) is called once the session's attach socket is up and
   * before the process starts, so a client connected there misses none of its output.
   */
  exec?: { processSpec: string; sessionId: string; attach?: () => Promise<void> };
  /**
   * Fds conmon inherits and keeps for its life (not passed to runc: runc closes what it isn't
   * told to preserve): the host ports published for the container stay reserved while it runs.
   */
  extraFds?: number[];
}

/** How long conmon (and runc create inside it) may take to report. */
const SYNC_TIMEOUT_MS = 60_000;

export function conmonArgs(ctx: EngineContext, o: ConmonOptions): string[] {
  const args = [
    '--api-version', '1',
    '-c', o.id,
    '-u', o.exec ? o.exec.sessionId : o.id,
    '-n', o.name,
    '-r', ctx.programs.runc,
    ...runcGlobalArgs(ctx).flatMap((a) => ['--runtime-arg', a]),
    '-b', o.bundle,
    '-p', o.pidFile,
    '-P', o.conmonPidFile,
    ...o.logArgs,
    '--exit-dir', o.exitDir,
    '--full-attach',
    '--socket-dir-path', o.bundle,
  ];
  if (o.tty) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.leaveStdinOpen) args.push('--leave-stdin-open');
  if (o.exec) args.push('-e', '--exec-process-spec', o.exec.processSpec);
  if (o.exec?.attach) args.push('--exec-attach');
  const [cmd, ...cmdArgs] = o.exitCommand;
  if (cmd) {
    args.push('--exit-command', cmd);
    for (const a of cmdArgs) args.push('--exit-command-arg', a);
  }
  return args;
}

export interface Conmon {
  /** The container's (or exec process's) pid, once runc has made it. */
  pid: number;
  /** For exec sessions: the sync pipe stays open and yields the exit code when the process ends. */
  exitCode?: Promise<number>;
}

/**
 * Starts conmon and waits for its report of `runc create` (or `runc exec`). Errors carry what
 * runc said. conmon gets /dev/null for stdio and its own session, so it outlives this process.
 */
export function launchConmon(ctx: EngineContext, o: ConmonOptions): Promise<Conmon> {
  const { spawn } = childProcess();
  return new Promise((resolve, reject) => {
    // --exec-attach: fd 4 is the start pipe (conmon reads it once before forking and once
    // more just before `runc exec`), fd 5 the attach pipe (conmon says there when its socket is up)
    const attach = o.exec?.attach;
    const child = spawn(ctx.programs.conmon, conmonArgs(ctx, o), {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', ...(attach ? (['pipe', 'pipe'] as const) : []), ...(o.extraFds ?? [])],
      env: { ...process.env, _OCI_SYNCPIPE: '3', ...(attach ? { _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' } : {}) },
      detached: true,
    });
    const sync = child.stdio[3] as Readable;
    if (attach) {
      const pipes = child.stdio as unknown as Array<Readable & Writable>;
      const start: Writable = pipes[4]!;
      const attachPipe: Readable = pipes[5]!;
      start.on('error', () => {});
      attachPipe.on('error', () => {});
      start.write('0');
      let said = '';
      attachPipe.on('data', (d: Buffer) => {
        said += d.toString();
        if (!said.includes('\n')) return;
        attachPipe.removeAllListeners('data');
        attachPipe.destroy();
        attach().then(
          () => start.end('1'),
          (err: unknown) => {
            // without a client the process must not run: conmon's runc child dies with it
            killConmon(o.conmonPidFile);
            start.destroy();
            finish(err instanceof Error ? err : new SystemError(String(err)));
          },
        );
      });
    }
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => finish(new SystemError(`conmon: ${err.message}`, { cause: err })));
    child.once('exit', (code) => {
      // conmon's first process exits at once (it double-forks); a failure before the fork shows here
      if (code !== 0) setTimeout(() => finish(new SystemError(`conmon exited with status ${code}: ${stderr.trim()}`)), 50);
    });
    child.unref();
    let buf = '';
    let settled = false;
    let exitResolve: ((code: number) => void) | undefined;
    let exitReject: ((err: Error) => void) | undefined;
    const timer = setTimeout(() => finish(new SystemError(`conmon did not report within ${SYNC_TIMEOUT_MS / 1000}s: ${stderr.trim()}`)), SYNC_TIMEOUT_MS);
    function finish(result: Error | Conmon): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result instanceof Error) {
        sync.destroy();
        reject(result);
      } else {
        if (!result.exitCode) sync.destroy();
        resolve(result);
      }
    }
    const messages: Array<{ data: number; message?: string }> = [];
    sync.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          messages.push(JSON.parse(line) as { data: number; message?: string });
        } catch {
          continue;
        }
        onMessage();
      }
    });
    sync.on('end', () => {
      if (!settled) finish(new SystemError(`conmon closed its sync pipe without a report: ${stderr.trim()}`));
      exitReject?.(new SystemError('conmon closed its sync pipe before the process exited'));
    });
    sync.on('error', () => {});
    function onMessage(): void {
      const m = messages.shift()!;
      if (!settled) {
        if (m.data < 0 || m.message) return finish(new SystemError(runcMessage(m.message ?? `runtime failed (${m.data})`)));
        if (o.exec) {
          const exitCode = new Promise<number>((res, rej) => ((exitResolve = res), (exitReject = rej)));
          exitCode.catch(() => {});
          return finish({ pid: m.data, exitCode });
        }
        return finish({ pid: m.data });
      }
      // exec sessions: the second message is the exit status
      exitResolve?.(m.data);
      sync.destroy();
    }
  });
}

/** SIGKILL to the conmon whose pid file this is (conmon's runtime child has PDEATHSIG SIGKILL). */
function killConmon(pidFile: string): void {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // not started or gone
  }
}
