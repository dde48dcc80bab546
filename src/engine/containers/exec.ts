// Exec sessions: a process run inside a running container, watched by a conmon of its own
// (`runc exec` under `conmon -e`). Docker's model: create records the session, start runs it
// once (attached to the client's stream, or detached), inspect shows its state and exit code.
//
// On disk: the record `<root>/containers/<id>/exec/<execid>.json` (atomic rewrites under the
// session's lock; it goes with the container's dir), and the session's runtime dir
// `<runroot>/containers/<id>/exec/<execid>/` (process spec, conmon's attach socket, control
// fifo, pid files and the exit dir). The exit code is recorded by the process that started
// the session when conmon reports it on the sync pipe, or by whoever looks next (conmon's
// exit file), so a service that went idle meanwhile loses nothing.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { Conflict, InvalidArgument, NotFound, SystemError } from '../errors.ts';
import { launchConmon } from '../runtime/conmon.ts';
import { parseDetachKeys, resizeTerminal } from '../runtime/attach.ts';
import { readJson, writeJsonAtomic } from '../../store/atomic.ts';
import { acquireLock, lockPath } from '../../store/lock.ts';
import { processAlive } from '../../sys/process.ts';
import { containerEvent } from './events.ts';
import { findFresh } from './lifecycle.ts';
import { capabilities, processEnv, type OciProcess, type OciSpec } from './oci-spec.ts';
import { ContainerStore } from './store.ts';
import type { ContainerRecord } from './types.ts';
import { resolveUser } from './user.ts';

/** Docker's exec create body. */
export interface ExecCreateBody {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** An exec session on disk: Docker's inspect fields, then what berth needs to run it. */
export interface ExecRecord {
  ID: string;
  Running: boolean;
  /** null until the process has run. */
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  /** As the client wrote them (`ctrl-p,ctrl-q`); empty for the default. */
  DetachKeys: string;
  Pid: number;
  Env: string[];
  WorkingDir: string;
  ConsoleSize: [number, number] | null;
  /** True once a start was accepted: a session runs at most once. */
  Started: boolean;
  ConmonPid: number;
}

/** GET /exec/{id}/json's answer: the record's Docker fields, DetachKeys as Docker's []byte (the key codes, base64 in JSON). */
export type ExecInspect = Pick<ExecRecord, 'ID' | 'Running' | 'ExitCode' | 'ProcessConfig' | 'OpenStdin' | 'OpenStderr' | 'OpenStdout' | 'CanRemove' | 'ContainerID' | 'DetachKeys' | 'Pid'>;

const EXEC_ID_RE = /^[0-9a-f]{64}$/;

/** Where a session's files live. */
export function execPaths(ctx: EngineContext, containerId: string, execId: string) {
  const c = new ContainerStore(ctx).paths(containerId);
  const run = join(c.bundle, 'exec', execId);
  return {
    record: join(c.execs, `${execId}.json`),
    run,
    processSpec: join(run, 'process.json'),
    pidFile: join(run, 'pid'),
    conmonPidFile: join(run, 'conmon.pid'),
    ctl: join(run, 'ctl'),
    exitDir: join(run, 'exit'),
    /** conmon names the exit file after the container. */
    exitFile: join(run, 'exit', containerId),
  };
}

function lockExec(ctx: EngineContext, execId: string) {
  return acquireLock(lockPath(ctx.paths.locks, 'exec', execId));
}

async function withExecLock<T>(ctx: EngineContext, execId: string, fn: () => Promise<T>): Promise<T> {
  const lock = await lockExec(ctx, execId);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Docker's event action for exec events: `exec_create: sh -c exit 5`. */
function execAction(kind: string, rec: ExecRecord): string {
  return `${kind}: ${[rec.ProcessConfig.entrypoint, ...rec.ProcessConfig.arguments].join(' ')}`;
}

/** Docker refuses exec on a container that is not running, paused or restarting. */
function checkActive(c: ContainerRecord, ref: string): void {
  if (c.State.Status === 'paused') throw new Conflict(`Container ${ref} is paused, unpause the container before exec`);
  if (c.State.Status === 'restarting') throw new Conflict(`Container ${c.Id} is restarting, wait until the container is running`);
  if (c.State.Status !== 'running') throw new Conflict(`container ${c.Id} is not running`);
}

/** The container's process as runc runs it (caps, rlimits, apparmor…): the base of every exec. */
async function containerSpec(ctx: EngineContext, id: string): Promise<OciSpec> {
  const spec = await readJson<OciSpec>(new ContainerStore(ctx).paths(id).spec).catch(() => undefined);
  if (!spec) throw new Conflict(`container ${id} is not running`);
  return spec;
}

// ---- create ---------------------------------------------------------------------------

export async function createExec(ctx: EngineContext, idOrName: string, body: ExecCreateBody, opts: { consoleSize?: boolean } = {}): Promise<{ Id: string }> {
  const cmd = body.Cmd ?? [];
  if (!cmd.length) throw new InvalidArgument('No exec command specified');
  const container = await findFresh(ctx, idOrName);
  checkActive(container, idOrName);
  const user = body.User || container.Config.User || '';
  if (body.User) {
    // Docker looks the user up at create, for an early error
    const spec = await containerSpec(ctx, container.Id);
    await resolveUser(spec.root.path, body.User, container.HostConfig.GroupAdd);
  }
  if (body.DetachKeys) {
    try {
      parseDetachKeys(body.DetachKeys);
    } catch {
      throw new InvalidArgument(`Invalid escape keys (${body.DetachKeys}) provided`);
    }
  }
  const id = randomBytes(32).toString('hex');
  const rec: ExecRecord = {
    ID: id,
    Running: false,
    ExitCode: null,
    ProcessConfig: { tty: !!body.Tty, entrypoint: cmd[0]!, arguments: cmd.slice(1), privileged: !!body.Privileged, user },
    OpenStdin: !!body.AttachStdin,
    OpenStderr: !!body.AttachStderr,
    OpenStdout: !!body.AttachStdout,
    CanRemove: false,
    ContainerID: container.Id,
    DetachKeys: body.DetachKeys ?? '',
    Pid: 0,
    Env: body.Env ?? [],
    WorkingDir: body.WorkingDir || container.Config.WorkingDir || '',
    ConsoleSize: opts.consoleSize !== false && body.ConsoleSize && body.ConsoleSize[0] > 0 && body.ConsoleSize[1] > 0 ? body.ConsoleSize : null,
    Started: false,
    ConmonPid: 0,
  };
  const store = new ContainerStore(ctx);
  const p = execPaths(ctx, container.Id, id);
  await fs.mkdir(store.paths(container.Id).execs, { recursive: true, mode: 0o700 });
  await writeJsonAtomic(p.record, rec, { mode: 0o600 });
  await store.update(container.Id, (c) => {
    c.ExecIDs = [...(c.ExecIDs ?? []), id];
  });
  await containerEvent(ctx, container, execAction('exec_create', rec), { execID: id });
  return { Id: id };
}

// ---- find and reconcile ----------------------------------------------------------------

/** The session and its container's id; Docker's 404 when no container holds it. */
async function locate(ctx: EngineContext, execId: string): Promise<{ rec: ExecRecord; containerId: string }> {
  if (EXEC_ID_RE.test(execId)) {
    const store = new ContainerStore(ctx);
    for (const cid of await store.ids()) {
      const rec = await readJson<ExecRecord>(execPaths(ctx, cid, execId).record).catch(() => undefined);
      if (rec) return { rec, containerId: cid };
    }
  }
  throw new NotFound(`No such exec instance: ${execId}`);
}


async function readExitCode(path: string): Promise<number | undefined> {
  const text = await fs.readFile(path, 'utf8').catch(() => '');
  const code = Number.parseInt(text.trim(), 10);
  return Number.isFinite(code) ? code : undefined;
}

/**
 * Records a session's end once (under its lock): exit code, Running false, the id out of the
 * container's ExecIDs, the runtime dir removed, an exec_die event. A no-op when already done.
 */
async function recordExit(ctx: EngineContext, containerId: string, execId: string, code: number): Promise<ExecRecord | undefined> {
  const p = execPaths(ctx, containerId, execId);
  const done = await withExecLock(ctx, execId, async () => {
    const rec = await readJson<ExecRecord>(p.record).catch(() => undefined);
    if (!rec || !rec.Running) return undefined;
    rec.Running = false;
    rec.ExitCode = code;
    await writeJsonAtomic(p.record, rec, { mode: 0o600 });
    return rec;
  });
  if (!done) return undefined;
  await fs.rm(p.run, { recursive: true, force: true });
  const store = new ContainerStore(ctx);
  const container = await store
    .update(containerId, (c) => {
      c.ExecIDs = (c.ExecIDs ?? []).filter((x) => x !== execId);
      if (!c.ExecIDs.length) delete c.ExecIDs;
    })
    .then((r) => r.rec)
    .catch(() => undefined);
  if (container) await containerEvent(ctx, container, 'exec_die', { execID: execId, exitCode: String(code) });
  return done;
}

/** A session recorded as running whose conmon has reported (or vanished) is finished here. */
async function refreshExec(ctx: EngineContext, rec: ExecRecord): Promise<ExecRecord> {
  if (!rec.Running) return rec;
  const p = execPaths(ctx, rec.ContainerID, rec.ID);
  let code = await readExitCode(p.exitFile);
  if (code === undefined) {
    if (!rec.ConmonPid || processAlive(rec.ConmonPid)) return rec;
    code = await readExitCode(p.exitFile); // it may have written the file as it went
    // conmon gone without a word: killed with the container, or the runroot was wiped
    code ??= 137;
  }
  return (await recordExit(ctx, rec.ContainerID, rec.ID, code)) ?? (await readJson<ExecRecord>(p.record)) ?? rec;
}

/** What `berth cleanup <container> <exec id>` does when conmon reports the session's exit. */
export async function cleanupExec(ctx: EngineContext, execId: string): Promise<void> {
  const { rec } = await locate(ctx, execId);
  const p = execPaths(ctx, rec.ContainerID, rec.ID);
  // conmon may run us a moment before the exit file is complete
  for (let i = 0; i < 50 && (await readExitCode(p.exitFile)) === undefined; i++) await new Promise((r) => setTimeout(r, 20));
  const code = await readExitCode(p.exitFile);
  if (code !== undefined) await recordExit(ctx, rec.ContainerID, rec.ID, code);
}

export async function inspectExec(ctx: EngineContext, execId: string): Promise<ExecInspect> {
  const { rec } = await locate(ctx, execId);
  return execInspect(await refreshExec(ctx, rec));
}

export function execInspect(rec: ExecRecord): ExecInspect {
  const keys = rec.DetachKeys ? Buffer.from(parseDetachKeys(rec.DetachKeys)).toString('base64') : '';
  return {
    ID: rec.ID,
    Running: rec.Running,
    ExitCode: rec.ExitCode,
    ProcessConfig: rec.ProcessConfig,
    OpenStdin: rec.OpenStdin,
    OpenStderr: rec.OpenStderr,
    OpenStdout: rec.OpenStdout,
    CanRemove: rec.CanRemove,
    ContainerID: rec.ContainerID,
    DetachKeys: keys,
    Pid: rec.Pid,
  };
}

// ---- the process spec ------------------------------------------------------------------

/**
 * The exec's environment: Docker's base (PATH, HOSTNAME, TERM with a tty) with the container's
 * Env, then the exec's Env replacing by key (a bare `KEY` removes it); HOME from the exec
 * user's passwd entry when nothing set it.
 */
export function execEnv(containerEnv: readonly string[], execEnvVars: readonly string[], hostname: string, tty: boolean, home: string): string[] {
  const keyOf = (e: string) => e.split('=', 1)[0]!;
  const out = processEnv(containerEnv, hostname, tty, '').filter((e) => e !== 'HOME=');
  for (const e of execEnvVars) {
    const key = keyOf(e);
    const i = out.findIndex((o) => keyOf(o) === key);
    if (!e.includes('=')) {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = e;
    else out.push(e);
  }
  if (!out.some((e) => keyOf(e) === 'HOME')) out.push(`HOME=${home}`);
  return out;
}

/** The container's process with the exec's args, env, cwd, user, terminal and (privileged) caps. */
export async function execProcess(spec: OciSpec, container: ContainerRecord, rec: ExecRecord, consoleSize: [number, number] | null): Promise<OciProcess> {
  const user = await resolveUser(spec.root.path, rec.ProcessConfig.user, container.HostConfig.GroupAdd);
  const base = spec.process;
  const proc: OciProcess = {
    ...base,
    terminal: rec.ProcessConfig.tty,
    user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
    args: [rec.ProcessConfig.entrypoint, ...rec.ProcessConfig.arguments],
    env: execEnv(container.Config.Env ?? [], rec.Env, spec.hostname ?? container.Config.Hostname ?? container.Id.slice(0, 12), rec.ProcessConfig.tty, user.home),
    cwd: rec.WorkingDir || '/',
  };
  delete proc.consoleSize;
  if (rec.ProcessConfig.tty && consoleSize) proc.consoleSize = { height: consoleSize[0], width: consoleSize[1] };
  if (rec.ProcessConfig.privileged) {
    const all = capabilities({ Privileged: true });
    proc.capabilities = { bounding: all, effective: all, permitted: all };
  }
  return proc;
}

// ---- start ------------------------------------------------------------------------------

export interface ExecStartOptions {
  /** Run without a client: POST returns at once, the process runs on. */
  detach: boolean;
  /** The client's terminal size (API ≥ 1.42, with a tty); else the one given at create. */
  consoleSize?: [number, number] | null;
}

export interface ExecStarted {
  rec: ExecRecord;
  /** Connected to the session's attach socket before the process started (not when detached). */
  sock?: Socket;
  /** The exit code, once recorded (inspect shows it from then on). */
  exited: Promise<number>;
}

/**
 * The checks Docker makes before it hijacks the connection: the session exists (404), its
 * container runs and is not paused (409), and it has not run before (409).
 */
export async function checkExecStart(ctx: EngineContext, execId: string): Promise<{ rec: ExecRecord; container: ContainerRecord }> {
  const { rec, containerId } = await locate(ctx, execId);
  const container = await findFresh(ctx, containerId).catch(() => {
    throw new NotFound(`No such container: ${execId}`);
  });
  checkActive(container, containerId);
  if (rec.Running) throw new Conflict(`exec command ${rec.ID} is already running`);
  if (rec.Started || rec.ExitCode !== null) throw new Conflict(`exec command ${rec.ID} has already run`);
  return { rec, container };
}

/** Docker's exit code for a process that could not be started (126 cannot run, 127 not found). */
export function startFailureExitCode(message: string): number {
  const m = message.toLowerCase();
  if (m.includes('permission denied') || m.includes('is a directory')) return 126;
  if (/executable file not found|no such file or directory|not a directory/.test(m)) return 127;
  return 126;
}

/**
 * Runs the session: marks it started, writes its process spec and starts its conmon. Attached,
 * the attach socket is connected before the process runs. A process that cannot start
 * (missing executable, bad working dir…) is recorded with Docker's exit code and thrown as
 * Docker words it (`OCI runtime exec failed: …: unknown`).
 */
export async function startExec(ctx: EngineContext, execId: string, opts: ExecStartOptions): Promise<ExecStarted> {
  const { container } = await checkExecStart(ctx, execId);
  const cid = container.Id;
  const p = execPaths(ctx, cid, execId);
  const rec = await withExecLock(ctx, execId, async () => {
    const now = await readJson<ExecRecord>(p.record);
    if (!now) throw new NotFound(`No such exec instance: ${execId}`);
    if (now.Running) throw new Conflict(`exec command ${now.ID} is already running`);
    if (now.Started || now.ExitCode !== null) throw new Conflict(`exec command ${now.ID} has already run`);
    now.Started = true;
    now.Running = true;
    await writeJsonAtomic(p.record, now, { mode: 0o600 });
    return now;
  });
  await containerEvent(ctx, container, execAction('exec_start', rec), { execID: execId });

  let sock: Socket | undefined;
  try {
    const spec = await containerSpec(ctx, cid);
    const size = rec.ProcessConfig.tty ? (opts.consoleSize ?? rec.ConsoleSize) : null;
    const proc = await execProcess(spec, container, rec, size);
    await fs.rm(p.run, { recursive: true, force: true });
    await fs.mkdir(p.exitDir, { recursive: true, mode: 0o700 });
    await writeJsonAtomic(p.processSpec, proc, { durable: false, mode: 0o600 });
    const conmon = await launchConmon(ctx, {
      id: cid,
      name: container.Name,
      bundle: p.run,
      pidFile: p.pidFile,
      conmonPidFile: p.conmonPidFile,
      logArgs: ['-l', 'none'],
      exitDir: p.exitDir,
      // the exit is recorded (exec_die too) when it happens, also with no service running
      exitCommand: [...(ctx.selfCommand ?? [process.execPath, process.argv[1]!]), 'cleanup', cid, execId],
      tty: rec.ProcessConfig.tty,
      stdin: rec.OpenStdin && !opts.detach,
      leaveStdinOpen: false,
      exec: {
        processSpec: p.processSpec,
        sessionId: execId,
        attach: opts.detach
          ? undefined
          : async () => {
              sock = await connectAttach(p.run);
            },
      },
    });
    const conmonPid = Number((await fs.readFile(p.conmonPidFile, 'utf8').catch(() => '0')).trim()) || 0;
    const started = await withExecLock(ctx, execId, async () => {
      const now = (await readJson<ExecRecord>(p.record))!;
      // a quick process may already be recorded as finished by someone else
      if (now.Running) {
        now.Pid = conmon.pid;
        now.ConmonPid = conmonPid;
        await writeJsonAtomic(p.record, now, { mode: 0o600 });
      }
      return now;
    });
    const exited = (conmon.exitCode ?? Promise.reject(new SystemError('conmon gave no exit channel'))).then(
      async (code) => {
        await recordExit(ctx, cid, execId, code);
        return code;
      },
      async () => {
        // the sync pipe broke: the exit file (or conmon's absence) tells
        const now = await refreshExec(ctx, (await readJson<ExecRecord>(p.record))!);
        return now.ExitCode ?? -1;
      },
    );
    exited.catch(() => {});
    return { rec: started, sock, exited };
  } catch (err) {
    sock?.destroy();
    const said = err instanceof Error ? err.message : String(err);
    await recordExit(ctx, cid, execId, startFailureExitCode(said)).catch(() => {});
    if (err instanceof SystemError) throw new SystemError(`OCI runtime exec failed: ${said}: unknown`, { cause: err });
    throw err;
  }
}

/**
 * conmon's attach socket of a session. Its path is long (two 64-char ids) and a sockaddr_un
 * holds 108 bytes, so it is reached through an open descriptor of its directory.
 */
async function connectAttach(dir: string): Promise<Socket> {
  const { connectSeqpacket } = await import('../../sys/seqpacket.ts');
  const fh = await fs.open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    return connectSeqpacket(`/proc/self/fd/${fh.fd}/attach`);
  } finally {
    await fh.close();
  }
}

// ---- resize -----------------------------------------------------------------------------

export async function resizeExec(ctx: EngineContext, execId: string, height: number, width: number): Promise<void> {
  const { containerId } = await locate(ctx, execId);
  const container = await findFresh(ctx, containerId);
  checkActive(container, containerId);
  // clients resize right after the start's 101, before conmon is up: wait for it, as Docker does
  const p = execPaths(ctx, containerId, execId);
  const deadline = Date.now() + 10_000;
  let rec: ExecRecord | undefined;
  for (;;) {
    rec = await readJson<ExecRecord>(p.record).catch(() => undefined);
    if (!rec) throw new NotFound(`No such exec instance: ${execId}`);
    if (rec.Started && (!rec.Running || rec.ConmonPid)) break;
    if (Date.now() >= deadline) throw new SystemError('timeout waiting for exec session ready');
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!rec.Running) {
    if (!rec.Pid) throw new InvalidArgument('exec process is not started');
    return;
  }
  await resizeTerminal(p.ctl, height, width);
}
