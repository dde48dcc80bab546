// Starts a real `berth serve` (the built dist/berth.cjs) with its own temporary root, runroot
// and socket, for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from './http.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const berthBin = join(repoRoot, 'dist/berth.cjs');
export const socketActivate = join(repoRoot, '../shared/tools/socket-activate');

export interface Berth {
  dir: string;
  sock: string;
  root: string;
  runroot: string;
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export function tempDir(prefix = 'berth-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Waits until no network teardown is pending: a removal's teardown runs on after the container is
 * seen gone (a `run --rm` returns before it), in the process that removed it. Pending means an
 * intent file under the runroot whose container has no record left.
 */
export async function networkTeardownsDone(b: { root: string; runroot: string }): Promise<void> {
  const dir = join(b.runroot, 'network');
  const pending = () =>
    existsSync(dir) &&
    readdirSync(dir).some((f) => /^[0-9a-f]{64}\.json$/.test(f) && !existsSync(join(b.root, 'containers', f.slice(0, 64), 'container.json')));
  await waitFor(() => !pending(), 10_000, 'network teardowns');
}

export async function startBerth(opts: { time?: number; extraArgs?: string[]; env?: NodeJS.ProcessEnv; dir?: string } = {}): Promise<Berth> {
  const dir = opts.dir ?? tempDir();
  const sock = join(dir, 'berth.sock');
  const root = join(dir, 'root');
  const runroot = join(dir, 'run');
  const args = [berthBin, 'serve', '--listen', `unix://${sock}`, '--root', root, '--runroot', runroot, '--time', String(opts.time ?? 0), ...(opts.extraArgs ?? [])];
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(async () => {
    if (dead) throw new Error(`berth exited early: ${err}`);
    return existsSync(sock) && (await call(sock, 'GET', '/_ping').then(() => true, () => false));
  }, 10_000, 'berth to listen');
  return {
    dir,
    sock,
    root,
    runroot,
    proc,
    stderr: () => err,
    exited,
    async stop() {
      await networkTeardownsDone({ root, runroot }).catch(() => {});
      if (!dead) proc.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
