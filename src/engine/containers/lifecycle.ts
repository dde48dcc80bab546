// A container's life: create → init (rootfs, spec, conmon + runc create) → start (runc start)
// → exit (conmon runs `berth cleanup`, or the next API call notices) → finish (record the exit,
// unmount, restart policy, auto-remove) → remove.
//
// Nothing here stays in memory: the record says what the container is, the exit file and
// conmon's pid say whether it still runs, and every change is made under the container's lock
// by whichever process (the API service or `berth cleanup`) gets there first.
import { promises as fs } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { EngineContext } from '../context.ts';
import { Conflict, EngineError, InvalidArgument, NotModified, SystemError } from '../errors.ts';
import { ImageStore } from '../images/image-store.ts';
import { detachForRemoval, planNetworks, setupNetwork, teardownNetwork, undoOrphanIntents, type NetworkSetup } from '../network/container-network.ts';
import { forgetMounts, planMounts, prepareMounts, releaseMounts, removeContainerVolumes } from '../volumes/container-volumes.ts';
import { conmonLogArgs, validateLogConfig } from '../runtime/container-log.ts';
import { launchConmon } from '../runtime/conmon.ts';
import { cgroupVersion } from '../runtime/cgroups.ts';
import { RuncFailed, runcDelete, runcKill, runcPause, runcResume, runcStart } from '../runtime/runc.ts';
import { writeFileAtomic, writeJsonAtomic } from '../../store/atomic.ts';
import { processAlive } from '../../sys/process.ts';
import { applyHostConfigDefaults, mergeImageConfig, parseSignal, processArgs, stopSignal, stopTimeout, validateHostConfig } from './create-config.ts';
import { writeEtcFiles } from './etc-write.ts';
import { containerEvent } from './events.ts';
import { buildSpec } from './oci-spec.ts';
import { mountRootfs, unmountRootfs } from './rootfs.ts';
import { ContainerStore, newContainerId, validName } from './store.ts';
import { isRunning, ZERO_TIME, type ContainerConfig, type ContainerRecord, type HostConfig } from './types.ts';

export interface CreateBody extends ContainerConfig {
  HostConfig?: HostConfig | null;
  NetworkingConfig?: ContainerRecord['NetworkingConfig'];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RFC 3339 with nanosecond digits, as Docker prints times. */
export function nowRfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}000000Z`);
}

export { isRunning };

/** Running, or made ready to run (conmon up, the process created) by an attach that came before the start. */
function hasProcess(rec: ContainerRecord): boolean {
  return isRunning(rec) || ((rec.State.Status === 'created' || rec.State.Status === 'exited') && rec.State.ConmonPid > 0);
}

// ---- create ---------------------------------------------------------------------------

export async function createContainer(ctx: EngineContext, body: CreateBody, opts: { name?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
  if (!body.Image) throw new InvalidArgument('config cannot be empty in order to create a container');
  const name = opts.name ? validName(opts.name) : undefined;
  const images = new ImageStore(ctx);
  const image = await images.find(body.Image);
  const imageConfig = await images.readConfig(image.id);
  const { HostConfig: hostConfig, NetworkingConfig: networking, ...given } = body;
  const config = mergeImageConfig(given, imageConfig.config);
  const hc = applyHostConfigDefaults(hostConfig ?? {}, { cgroupV2: cgroupVersion() === 2 });
  validateHostConfig(hc, config);
  validateLogConfig(hc.LogConfig);
  processArgs(config); // "No command specified" at create, as Docker

  const store = new ContainerStore(ctx);
  const id = newContainerId();
  if (!config.Hostname) config.Hostname = id.slice(0, 12);
  config.Image = body.Image;
  const chosen = name ?? (await store.generateName(id));
  if (name) await store.reserveName(name, id);
  const p = store.paths(id);
  let mounts: ContainerRecord['MountPoints'] = [];
  try {
    const networkSettings = await planNetworks(ctx, { config, hostConfig: hc, networking: networking ?? null });
    await fs.mkdir(p.dir, { mode: 0o710 });
    mounts = await planMounts(ctx, { id, config, hostConfig: hc });
    const rec: ContainerRecord = {
      Id: id,
      Name: chosen,
      Created: nowRfc3339(),
      Image: image.id,
      ImageName: body.Image,
      Config: config,
      HostConfig: hc,
      NetworkingConfig: networking ?? null,
      State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME, OOMKilled: false, ConmonPid: 0 },
      RestartCount: 0,
      Layers: await images.chainIdsOf(image.id),
      NetworkSettings: networkSettings,
      MountPoints: mounts,
    };
    await store.write(rec);
    await containerEvent(ctx, rec, 'create');
    return { Id: id, Warnings: [] };
  } catch (err) {
    await forgetMounts(ctx, mounts ?? [], id).catch(() => {});
    await fs.rm(p.dir, { recursive: true, force: true });
    await store.releaseName(chosen, id);
    throw err;
  }
}

// ---- state reconciliation --------------------------------------------------------------

/** The exit code conmon wrote, or undefined when there is none (yet). */
async function readExitFile(path: string): Promise<{ code: number; at: Date } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
    const code = Number.parseInt(text.trim(), 10);
    if (!Number.isFinite(code)) return undefined; // being written
    return { code, at: st.mtime };
  } catch {
    return undefined;
  }
}

/** Whether the process that a record says is live has ended (and how), without waiting. */
async function observedExit(ctx: EngineContext, rec: ContainerRecord): Promise<{ code: number; at: Date } | undefined> {
  const p = new ContainerStore(ctx).paths(rec.Id);
  const exit = await readExitFile(p.exitFile);
  if (exit) return exit;
  if (processAlive(rec.State.ConmonPid)) return undefined;
  // conmon is gone without an exit file: killed, or the machine rebooted (runroot is empty)
  return { code: rec.State.Pid && processAlive(rec.State.Pid) ? 137 : 255, at: new Date() };
}

export type AfterExit = 'none' | 'restart' | 'remove';

/**
 * Records the end of a live container (under its lock; does nothing when the record no longer
 * says it is live): exit code and time, runc's state and the rootfs mount released, a `die`
 * event, then the network (left to the removal when one follows). Returns what its policy wants
 * next.
 */
async function finish(ctx: EngineContext, rec: ContainerRecord, exit: { code: number; at: Date }): Promise<AfterExit> {
  const store = new ContainerStore(ctx);
  const p = store.paths(rec.Id);
  const oom = await fs.stat(`${p.bundle}/oom`).then(() => true, () => false);
  const wasRunning = isRunning(rec);
  // the network goes after `die`, as Docker orders its events; a container removed next keeps
  // it for the removal, which tears it down last
  await releaseRun(ctx, rec, { network: false });
  rec.State = {
    ...rec.State,
    Status: 'exited',
    Pid: 0,
    ConmonPid: 0,
    ExitCode: exit.code,
    OOMKilled: oom,
    FinishedAt: wasRunning ? nowRfc3339(exit.at) : rec.State.FinishedAt,
  };
  await store.write(rec);
  await Promise.all([fs.rm(p.exitFile, { force: true }), fs.rm(p.conmonPidFile, { force: true })]);
  if (wasRunning) {
    if (oom) await containerEvent(ctx, rec, 'oom');
    await containerEvent(ctx, rec, 'die', { exitCode: String(exit.code) });
    if (rec.HostConfig.AutoRemove) return 'remove';
  }
  await teardownNetwork(ctx, rec).catch(() => {});
  await store.write(rec);
  if (!wasRunning) return 'none'; // inited but never started: nothing ran, nothing died
  return restartWanted(rec) ? 'restart' : 'none';
}

function restartWanted(rec: ContainerRecord): boolean {
  const policy = rec.HostConfig.RestartPolicy?.Name ?? '';
  if (rec.State.ManuallyStopped) return false;
  switch (policy) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = rec.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0;
      return rec.State.ExitCode !== 0 && (max === 0 || rec.RestartCount < max);
    }
    default:
      return false;
  }
}

/**
 * The record as it really is: a container recorded as live whose process ended is finished
 * here (what `berth cleanup` would have done). A restart its policy wants is marked at once
 * (`restarting`) but, unless `restartInline`, made in the background after the back-off: an API
 * call that happened to see the exit first (a `logs -f`, a `ps`) doesn't wait for it. conmon's
 * cleanup, which sees `restarting`, makes it too if this process is gone by then; the restart
 * count decides which of the two goes ahead.
 */
export async function refresh(ctx: EngineContext, rec: ContainerRecord, opts: { restartInline?: boolean } = {}): Promise<ContainerRecord> {
  const live = isRunning(rec) || (rec.State.Status === 'created' && rec.State.ConmonPid > 0);
  if (!live) return rec;
  if (!(await observedExit(ctx, rec))) return rec;
  const store = new ContainerStore(ctx);
  const { after, now } = await store.withLock(rec.Id, async () => {
    const now = await store.read(rec.Id);
    if (!now) return { after: 'none' as AfterExit, now: rec };
    const stillLive = isRunning(now) || (now.State.Status === 'created' && now.State.ConmonPid > 0);
    const exit = stillLive ? await observedExit(ctx, now) : undefined;
    if (!exit) return { after: 'none' as AfterExit, now };
    if (now.State.Status === 'created') {
      // inited, never started: back to a plain created container
      await releaseRun(ctx, now);
      now.State.ConmonPid = 0;
      now.State.Pid = 0;
      await store.write(now);
      await fs.rm(store.paths(now.Id).conmonPidFile, { force: true });
      return { after: 'none' as AfterExit, now };
    }
    return { after: await finish(ctx, now, exit), now };
  });
  await followUp(ctx, now, after, !opts.restartInline);
  return (await store.read(rec.Id)) ?? now;
}

/** Acts on a finished container's policy: remove it, or restart it after Docker's back-off. */
async function followUp(ctx: EngineContext, rec: ContainerRecord, after: AfterExit, background: boolean): Promise<void> {
  if (after === 'remove') {
    const removal = removeContainer(ctx, rec.Id, { force: true, volumes: true }).catch(() => {});
    if (!background) return removal;
    // an API call that saw the exit (a wait for removal) goes on; the service stays up until it is done
    const release = ctx.holdBusy?.();
    void removal.finally(() => release?.());
  } else if (after === 'restart') {
    await restartAfterExit(ctx, rec, background);
  }
}

/** Docker's back-off: 100 ms doubling with each restart, at most a minute. */
function restartDelayMs(rec: ContainerRecord): number {
  return Math.min(100 * 2 ** Math.min(rec.RestartCount, 10), 60_000);
}

async function restartAfterExit(ctx: EngineContext, rec: ContainerRecord, background = false): Promise<void> {
  const store = new ContainerStore(ctx);
  const count = rec.RestartCount;
  await store.update(rec.Id, (r) => {
    // only the exit this decision was made for: never a later, final one
    if (r.State.Status === 'exited' && r.RestartCount === count) r.State.Status = 'restarting';
  });
  if (background) {
    void restartWhenDue(ctx, rec, count).catch(() => {});
    return;
  }
  await restartWhenDue(ctx, rec, count);
}

async function restartWhenDue(ctx: EngineContext, rec: ContainerRecord, count: number): Promise<void> {
  const store = new ContainerStore(ctx);
  await sleep(restartDelayMs(rec));
  const again = await store.withLock(rec.Id, async () => {
    const now = await store.read(rec.Id);
    // stopped, removed or restarted by someone else meanwhile
    if (!now || now.State.Status !== 'restarting' || now.RestartCount !== count) return undefined;
    now.RestartCount++;
    try {
      await startLocked(ctx, now);
    } catch (err) {
      now.State.Status = 'exited';
      now.State.Error = (err as Error).message;
      await store.write(now);
      return undefined;
    }
    return now;
  });
  if (again) await containerEvent(ctx, again, 'start');
}

/** What `berth cleanup <id>` does when conmon reports the container's exit. */
export async function cleanupAfterExit(ctx: EngineContext, id: string): Promise<void> {
  const store = new ContainerStore(ctx);
  const p = store.paths(id);
  // conmon may run us a moment before the exit file is complete
  for (let i = 0; i < 50 && !(await readExitFile(p.exitFile)); i++) await sleep(20);
  const rec = await store.read(id);
  if (!rec) return;
  // marked by an API process that saw the exit first: make the restart if it can't
  if (rec.State.Status === 'restarting') return restartWhenDue(ctx, rec, rec.RestartCount);
  await refresh(ctx, rec, { restartInline: true });
}

export async function findFresh(ctx: EngineContext, idOrName: string): Promise<ContainerRecord> {
  return refresh(ctx, await new ContainerStore(ctx).find(idOrName));
}

// ---- init and start ------------------------------------------------------------------

async function exitCommand(ctx: EngineContext, id: string): Promise<string[]> {
  return [...(ctx.selfCommand ?? [process.execPath, process.argv[1]!]), 'cleanup', id];
}

/**
 * Undoes what init set up for one run, in reverse: runc's container, the network, the volume
 * mounts, the rootfs. Each step is idempotent; none stops the others.
 */
async function releaseRun(ctx: EngineContext, rec: ContainerRecord, opts: { network?: boolean } = {}): Promise<void> {
  await runcDelete(ctx, rec.Id, true).catch(() => {});
  if (opts.network !== false) await teardownNetwork(ctx, rec).catch(() => {});
  await releaseMounts(ctx, rec).catch(() => {});
  await unmountRootfs(ctx, rec.Id).catch(() => {});
}

/** /proc/<pid>/ns/<kind> of the running container a `container:<ref>` mode names. */
async function namespacePath(ctx: EngineContext, kind: string, ref: string): Promise<string> {
  const other = await findFresh(ctx, ref);
  if (other.State.Status !== 'running' || !other.State.Pid) throw new Conflict(`cannot join namespace of a non running container ${other.Id}`);
  return `/proc/${other.State.Pid}/ns/${kind === 'network' ? 'net' : kind}`;
}

/**
 * Makes the OCI container (under the container's lock): rootfs, etc files, spec, conmon with
 * `runc create`. After this the process exists, stopped before exec, and its attach socket is
 * up: streams attached now see all of its output.
 */
async function initLocked(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  if (rec.State.ConmonPid && processAlive(rec.State.ConmonPid)) return;
  const store = new ContainerStore(ctx);
  const p = store.paths(rec.Id);
  // a conmon no record knows of (a crash between its launch and the record's write) goes first,
  // with its runc container; finish() removes the pid file, so this costs nothing normally
  const stale = Number(await fs.readFile(p.conmonPidFile, 'utf8').catch(() => '0'));
  if (stale) {
    if (processAlive(stale)) process.kill(stale, 'SIGKILL');
    await runcDelete(ctx, rec.Id, true).catch(() => {});
  }
  // never rm -r through a mounted rootfs: that would empty the container's own layer
  await unmountRootfs(ctx, rec.Id);
  await fs.rm(p.bundle, { recursive: true, force: true });
  await fs.mkdir(p.exitDir, { recursive: true, mode: 0o700 });
  let net: NetworkSetup | undefined;
  try {
    const rootfs = await mountRootfs(ctx, rec);
    net = await setupNetwork(ctx, rec);
    const volumeSource = await prepareMounts(ctx, rec, rootfs);
    await writeEtcFiles(ctx, rec, net.etc);
    const spec = await buildSpec({
      id: rec.Id,
      rec,
      rootfs,
      etc: { hosts: p.hosts, resolvConf: p.resolvConf, hostname: p.hostname },
      initPath: rec.HostConfig.Init ? ctx.programs.init ?? '/usr/bin/catatonit' : undefined,
      cgroupsPath: `/berth/${rec.Id}`,
      namespacePath: (kind, ref) => namespacePath(ctx, kind, ref),
      netnsPath: net.netnsPath,
      volumeSource,
    });
    await writeJsonAtomic(p.spec, spec, { durable: false });
    const conmon = await launchConmon(ctx, {
      id: rec.Id,
      name: rec.Name,
      bundle: p.bundle,
      pidFile: p.pidFile,
      conmonPidFile: p.conmonPidFile,
      logArgs: conmonLogArgs(rec.HostConfig.LogConfig, p.log),
      exitDir: p.exitDir,
      exitCommand: await exitCommand(ctx, rec.Id),
      tty: !!rec.Config.Tty,
      stdin: !!rec.Config.OpenStdin,
      leaveStdinOpen: !!rec.Config.OpenStdin && !rec.Config.StdinOnce,
      extraFds: net.reservedFds,
    });
    net.release();
    rec.State.Pid = conmon.pid;
    rec.State.ConmonPid = Number((await fs.readFile(p.conmonPidFile, 'utf8')).trim());
    rec.State.Error = '';
    await store.write(rec);
  } catch (err) {
    net?.release();
    await releaseRun(ctx, rec);
    throw runtimeError(err, rec);
  }
}

/** runc's create errors in Docker's words, the exit code Docker records for them. */
function runtimeError(err: unknown, rec: ContainerRecord): Error {
  if (!(err instanceof SystemError)) return err as Error;
  const said = err.message;
  const message = `failed to create task for container: OCI runtime create failed: ${said}: unknown`;
  rec.State.Error = message;
  rec.State.ExitCode = /not found|no such file/i.test(said) ? 127 : /permission denied/i.test(said) ? 126 : 128;
  if (/executable file not found|no such file or directory|permission denied/.test(said)) return new InvalidArgument(message);
  return new SystemError(message, { cause: err });
}

/**
 * Makes the OCI container for attach-before-start (`docker start -a`), of a created container or
 * of a stopped one that is about to run again; a no-op when it exists or runs.
 */
export async function initContainer(ctx: EngineContext, idOrName: string): Promise<ContainerRecord> {
  const store = new ContainerStore(ctx);
  const rec = await findFresh(ctx, idOrName);
  const stopped = (r: ContainerRecord) => r.State.Status === 'created' || r.State.Status === 'exited';
  if (!stopped(rec)) return rec;
  return store.withLock(rec.Id, async () => {
    const now = (await store.read(rec.Id))!;
    if (!stopped(now)) return now;
    try {
      await initLocked(ctx, now);
    } catch (err) {
      await store.write(now);
      throw err;
    }
    return now;
  });
}

async function startLocked(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  const store = new ContainerStore(ctx);
  await initLocked(ctx, rec);
  try {
    await runcStart(ctx, rec.Id).catch((err: unknown) => {
      // started by a process that died before it could record it: it runs, which is the point
      if (!(err instanceof RuncFailed && /already running/.test(err.said))) throw err;
    });
  } catch (err) {
    await releaseRun(ctx, rec);
    rec.State.ConmonPid = 0;
    rec.State.Pid = 0;
    throw runtimeError(err instanceof RuncFailed ? new SystemError(err.said) : err, rec);
  }
  rec.State = { ...rec.State, Status: 'running', StartedAt: nowRfc3339(), FinishedAt: ZERO_TIME, ExitCode: 0, Error: '', ManuallyStopped: false, OOMKilled: false };
  await store.write(rec);
}

export async function startContainer(ctx: EngineContext, idOrName: string): Promise<void> {
  const store = new ContainerStore(ctx);
  const rec = await findFresh(ctx, idOrName);
  const started = await store.withLock(rec.Id, async () => {
    const now = (await store.read(rec.Id))!;
    if (now.State.Status === 'paused') throw new Conflict('cannot start a paused container, try unpause instead');
    if (now.State.Status === 'running') throw new NotModified('container already started');
    if (now.State.Status === 'removing') throw new Conflict(`container is marked for removal and cannot be started`);
    try {
      await startLocked(ctx, now);
    } catch (err) {
      await store.write(now);
      throw err;
    }
    return now;
  }).catch(async (err: unknown) => {
    // Docker removes an auto-remove container that could not start
    if (rec.HostConfig.AutoRemove && !(err instanceof NotModified) && !(err instanceof Conflict)) await removeContainer(ctx, rec.Id, { force: true, volumes: true }).catch(() => {});
    throw err;
  });
  await containerEvent(ctx, started, 'start');
}

// ---- signals, stop, wait --------------------------------------------------------------

/** Waits (polling the exit file and conmon) until the live container has ended; false on timeout. */
async function waitExit(ctx: EngineContext, rec: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const end = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    if (await observedExit(ctx, rec)) return true;
    const now = await new ContainerStore(ctx).read(rec.Id);
    if (!now || !isRunning(now)) return true;
    if (Date.now() >= end) return false;
    await sleep(Math.min(wait, Math.max(1, end - Date.now())));
    wait = Math.min(wait * 2, 50);
  }
}

function notRunning(rec: ContainerRecord): Conflict {
  return new Conflict(`Container ${rec.Id} is not running`);
}

export async function killContainer(ctx: EngineContext, idOrName: string, signal = 'SIGKILL'): Promise<void> {
  const sig = parseSignal(signal);
  if (!sig) throw new InvalidArgument(`Invalid signal: ${signal}`);
  const rec = await findFresh(ctx, idOrName);
  if (!isRunning(rec)) throw new Conflict(`Cannot kill container: ${idOrName}: Container ${rec.Id} is not running`);
  await runcKill(ctx, rec.Id, sig);
  await containerEvent(ctx, rec, 'kill', { signal: signalNumber(sig) });
  if (sig === 'SIGKILL' || sig === '9') {
    await waitExit(ctx, rec, 10_000);
    await refresh(ctx, rec);
  }
}

/** Docker puts the signal's number in kill events. */
function signalNumber(sig: string): string {
  if (/^\d+$/.test(sig)) return sig;
  const name = sig.startsWith('SIG') ? sig : `SIG${sig}`;
  return String((osConstants.signals as Record<string, number>)[name] ?? sig);
}

export async function stopContainer(ctx: EngineContext, idOrName: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
  const store = new ContainerStore(ctx);
  let rec = await findFresh(ctx, idOrName);
  if (rec.State.Status === 'restarting') {
    await store.update(rec.Id, (r) => {
      r.State.Status = 'exited';
      r.State.ManuallyStopped = true;
    });
    await containerEvent(ctx, rec, 'stop');
    return;
  }
  if (!isRunning(rec)) throw new NotModified('container already stopped');
  ({ rec } = await store.update(rec.Id, (r) => {
    r.State.ManuallyStopped = true;
  }));
  const sig = opts.signal ? parseSignal(opts.signal) : parseSignal(stopSignal(rec.Config));
  if (!sig) throw new InvalidArgument(`Invalid signal: ${opts.signal}`);
  const timeout = opts.timeout ?? stopTimeout(rec.Config);
  try {
    await runcKill(ctx, rec.Id, sig);
    if (rec.State.Status === 'paused') await runcResume(ctx, rec.Id).catch(() => {});
    await containerEvent(ctx, rec, 'kill', { signal: signalNumber(sig) });
  } catch {
    // already gone
  }
  if (!(await waitExit(ctx, rec, timeout * 1000))) {
    await runcKill(ctx, rec.Id, 'KILL', true).catch(() => {});
    await containerEvent(ctx, rec, 'kill', { signal: '9' });
    await waitExit(ctx, rec, -1);
  }
  await refresh(ctx, rec);
  await containerEvent(ctx, rec, 'stop');
}

export async function restartContainer(ctx: EngineContext, idOrName: string, opts: { signal?: string; timeout?: number } = {}): Promise<void> {
  const rec = await findFresh(ctx, idOrName);
  try {
    await stopContainer(ctx, rec.Id, opts);
  } catch (err) {
    if (!(err instanceof NotModified)) throw err;
  }
  // the stop may have left auto-restart or auto-remove to finish: wait for a settled state
  await startContainer(ctx, rec.Id).catch((err: unknown) => {
    if (!(err instanceof NotModified)) throw err;
  });
  await containerEvent(ctx, rec, 'restart');
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Docker's wait: resolves with the exit code once the condition holds. */
export async function waitContainer(
  ctx: EngineContext,
  idOrName: string,
  condition: WaitCondition = 'not-running',
  signal?: AbortSignal,
): Promise<{ StatusCode: number; Error?: { Message: string } }> {
  const store = new ContainerStore(ctx);
  const first = await findFresh(ctx, idOrName);
  const id = first.Id;
  const startedAt = first.State.StartedAt;
  const wasLive = isRunning(first) || first.State.Status === 'restarting';
  let last = first;
  let wait = 10;
  for (;;) {
    const raw = await store.read(id);
    if (!raw) {
      if (condition === 'removed' || condition === 'not-running' || condition === 'next-exit') return exitOf(last);
    } else {
      const rec = await refresh(ctx, raw);
      last = rec;
      const live = isRunning(rec) || rec.State.Status === 'restarting';
      if (condition === 'not-running' && !live && rec.State.Status !== 'removing') return exitOf(rec);
      if (condition === 'next-exit' && !live && (wasLive || rec.State.StartedAt !== startedAt)) return exitOf(rec);
    }
    if (signal?.aborted) throw new SystemError('wait aborted');
    // a few stat calls per round: cheap enough to keep `docker run`'s exit prompt
    await sleep(wait);
    wait = Math.min(wait * 2, 20);
  }
}

function exitOf(rec: ContainerRecord): { StatusCode: number; Error?: { Message: string } } {
  return rec.State.Error ? { StatusCode: rec.State.ExitCode, Error: { Message: rec.State.Error } } : { StatusCode: rec.State.ExitCode };
}

// ---- pause, rename, remove --------------------------------------------------------------

export async function pauseContainer(ctx: EngineContext, idOrName: string): Promise<void> {
  const store = new ContainerStore(ctx);
  const rec = await findFresh(ctx, idOrName);
  const done = await store.withLock(rec.Id, async () => {
    const now = (await store.read(rec.Id))!;
    if (now.State.Status === 'paused') throw new Conflict(`Container ${now.Id} is already paused`);
    if (now.State.Status !== 'running') throw notRunning(now);
    await runcPause(ctx, now.Id);
    now.State.Status = 'paused';
    await store.write(now);
    return now;
  });
  await containerEvent(ctx, done, 'pause');
}

export async function unpauseContainer(ctx: EngineContext, idOrName: string): Promise<void> {
  const store = new ContainerStore(ctx);
  const rec = await findFresh(ctx, idOrName);
  const done = await store.withLock(rec.Id, async () => {
    const now = (await store.read(rec.Id))!;
    if (now.State.Status !== 'paused') throw new Conflict(`Container ${now.Id} is not paused`);
    await runcResume(ctx, now.Id);
    now.State.Status = 'running';
    await store.write(now);
    return now;
  });
  await containerEvent(ctx, done, 'unpause');
}

export async function renameContainer(ctx: EngineContext, idOrName: string, newName: string): Promise<void> {
  if (!newName) throw new InvalidArgument('Neither old nor new names may be empty');
  const name = validName(newName);
  const store = new ContainerStore(ctx);
  const rec = await store.find(idOrName);
  if (rec.Name === name) throw new Conflict(`Renaming a container with the same name as its current name`);
  await store.reserveName(name, rec.Id);
  let old = '';
  try {
    const { rec: now } = await store.update(rec.Id, (r) => {
      old = r.Name;
      r.Name = name;
    });
    await store.releaseName(old, rec.Id);
    await containerEvent(ctx, now, 'rename', { oldName: `/${old}` });
  } catch (err) {
    await store.releaseName(name, rec.Id);
    throw err;
  }
}

export async function removeContainer(ctx: EngineContext, idOrName: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
  const store = new ContainerStore(ctx);
  let rec = await findFresh(ctx, idOrName);
  if (isRunning(rec) || rec.State.Status === 'restarting') {
    if (!opts.force) {
      throw new Conflict(`cannot remove container "/${rec.Name}": container is ${rec.State.Status}: stop the container before removing or force remove`);
    }
    await store.update(rec.Id, (r) => {
      r.State.ManuallyStopped = true;
      if (r.State.Status === 'restarting') r.State.Status = 'exited';
    });
    if (isRunning(rec)) {
      await runcKill(ctx, rec.Id, 'KILL', true).catch(() => {});
      if (rec.State.Status === 'paused') await runcResume(ctx, rec.Id).catch(() => {});
      await waitExit(ctx, rec, 10_000);
      rec = await refresh(ctx, rec);
    }
  }
  const removed = await store.withLock(rec.Id, async () => {
    const now = await store.read(rec.Id);
    if (!now) return undefined;
    // (a `removing` seen here is a removal killed half-way: the remover held this lock throughout)
    if (isRunning(now) && !opts.force) throw new Conflict(`cannot remove container "/${now.Name}": container is running: stop the container before removing or force remove`);
    const before = now.State.Status === 'removing' ? 'exited' : now.State.Status;
    now.State.Status = 'removing';
    await store.write(now);
    await runcDelete(ctx, now.Id, true).catch(() => {});
    const teardown = await detachForRemoval(ctx, now).catch(() => async () => {});
    await releaseMounts(ctx, now).catch(() => {});
    try {
      await unmountRootfs(ctx, now.Id);
    } catch (err) {
      // still mounted: nothing may be deleted under it; the container stays as it was
      await teardown();
      now.State.Status = before;
      await store.write(now);
      throw err;
    }
    const p = store.paths(now.Id);
    // the record goes first (a crash after this leaves only dirs no record names: swept later), then the name
    await fs.rm(p.record, { force: true });
    await store.releaseName(now.Name, now.Id);
    await Promise.all([fs.rm(p.dir, { recursive: true, force: true }), fs.rm(p.bundle, { recursive: true, force: true })]);
    return { rec: now, teardown };
  });
  if (!removed) return;
  await containerEvent(ctx, removed.rec, 'destroy');
  // after the destroy event, as Docker orders them (compose waits for it)
  if (opts.volumes) await removeContainerVolumes(ctx, removed.rec);
  // the network last, once the container is seen gone (see detachForRemoval)
  await removed.teardown();
}

// ---- attach and resize ----------------------------------------------------------------

/**
 * Connects to the container's attach socket, making the OCI container first when it was only
 * created (attach comes before start in `docker run`, and must see all output).
 */
export async function openAttach(ctx: EngineContext, idOrName: string): Promise<{ rec: ContainerRecord; sock: import('node:net').Socket | undefined }> {
  let rec = await findFresh(ctx, idOrName);
  // Docker's daemon attaches to a stopped container too, and streams its next run (the CLI
  // refuses `docker attach` itself; `docker start -a` attaches first): made ready here, so the
  // start that follows loses no output
  if (rec.State.Status === 'created' || rec.State.Status === 'exited') {
    try {
      rec = await initContainer(ctx, rec.Id);
    } catch (err) {
      // the process can't be made (e.g. no such executable): the attach ends at once, and the
      // start that follows reports why (the CLI takes its exit code from the start's error)
      if (err instanceof EngineError && err.kind !== 'system') return { rec, sock: undefined };
      throw err;
    }
  }
  if (rec.State.Status === 'paused') throw new Conflict('You cannot attach to a paused container, unpause it first');
  if (rec.State.Status === 'restarting') throw new Conflict('You cannot attach to a restarting container, wait until it is running');
  if (!hasProcess(rec)) return { rec, sock: undefined };
  const { connectSeqpacket } = await import('../../sys/seqpacket.ts');
  const sock = connectSeqpacket(new ContainerStore(ctx).paths(rec.Id).attach);
  return { rec, sock };
}

export async function resizeContainer(ctx: EngineContext, idOrName: string, height: number, width: number): Promise<void> {
  const rec = await findFresh(ctx, idOrName);
  if (!hasProcess(rec)) throw new Conflict(`Container ${rec.Id} is not running`);
  const { resizeTerminal } = await import('../runtime/attach.ts');
  await resizeTerminal(new ContainerStore(ctx).paths(rec.Id).ctl, height, width);
  await containerEvent(ctx, rec, 'resize', { height: String(height), width: String(width) });
}

// ---- boot ---------------------------------------------------------------------------------

/**
 * `berth autostart` (berth-restart.service at boot): every container whose policy is `always`,
 * or `unless-stopped` and not stopped by a user, runs again. Containers that were running when
 * the machine went down are seen exited first (their runroot state is gone).
 */
export async function autostartContainers(ctx: EngineContext): Promise<Array<{ id: string; error?: string }>> {
  const store = new ContainerStore(ctx);
  const out: Array<{ id: string; error?: string }> = [];
  for (const raw of await store.list()) {
    const policy = raw.HostConfig.RestartPolicy?.Name ?? '';
    if ((policy !== 'always' && policy !== 'unless-stopped') || raw.State.ManuallyStopped) {
      await refresh(ctx, raw).catch(() => raw);
      continue;
    }
    // a container that was running when the machine went down is restarted by its policy here
    const rec = await refresh(ctx, raw).catch(() => raw);
    if (rec.State.ManuallyStopped) continue;
    try {
      if (!isRunning(rec)) await startContainer(ctx, rec.Id);
      out.push({ id: rec.Id });
    } catch (err) {
      if (err instanceof NotModified) out.push({ id: rec.Id });
      else out.push({ id: rec.Id, error: (err as Error).message });
    }
  }
  return out;
}

/**
 * What killed creates and removes left (run after the service starts): container dirs and
 * bundles no record names, and name links to nothing, once they are a minute old (a create in
 * flight in another process is younger).
 */
export async function sweepContainers(ctx: EngineContext): Promise<void> {
  const store = new ContainerStore(ctx);
  // a removal killed before its network teardown
  await undoOrphanIntents(ctx);
  const old = (mtimeMs: number) => Date.now() - mtimeMs > 60_000;
  const idLike = /^[0-9a-f]{64}$/;
  for (const id of (await fs.readdir(ctx.paths.containers).catch(() => [] as string[])).filter((n) => idLike.test(n))) {
    const p = store.paths(id);
    const st = await fs.stat(p.dir).catch(() => undefined);
    if (!st || !old(st.mtimeMs) || (await store.read(id).catch(() => 'unreadable'))) continue;
    await unmountRootfs(ctx, id).catch(() => {});
    await fs.rm(p.dir, { recursive: true, force: true });
  }
  for (const id of (await fs.readdir(ctx.paths.runContainers).catch(() => [] as string[])).filter((n) => idLike.test(n))) {
    if (await store.read(id).catch(() => 'unreadable')) continue;
    await unmountRootfs(ctx, id).catch(() => {});
    const st = await fs.stat(store.paths(id).bundle).catch(() => undefined);
    if (st && old(st.mtimeMs)) await fs.rm(store.paths(id).bundle, { recursive: true, force: true });
  }
  for (const name of await fs.readdir(store.namesDir).catch(() => [] as string[])) {
    const link = `${store.namesDir}/${name}`;
    const [target, st] = await Promise.all([fs.readlink(link).catch(() => ''), fs.lstat(link).catch(() => undefined)]);
    if (st && old(st.mtimeMs) && !(await store.read(target).catch(() => 'unreadable'))) await fs.rm(link, { force: true });
  }
}
