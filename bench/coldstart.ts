// bench/coldstart: how fast berth answers when it is not running.
// - cold: through socket-activate (a stand-in for a systemd .socket unit), the time from
//   connect to the first byte of the /_ping answer while no berth process runs;
// - baseline: `node -e 0` (start and exit of a bare node), in the same run;
// - warm: /_ping round trips per second over one keep-alive connection.
// Run by hand after `npm run build`: npx tsx bench/coldstart.ts [rounds]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const rounds = Number(process.argv[2] ?? 25);
const repo = fileURLToPath(new URL('..', import.meta.url));
const berth = join(repo, 'dist/berth.cjs');
const activate = join(repo, '../shared/tools/socket-activate');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (ns: bigint) => Number(ns) / 1e6;

// A second cold path: a route with a validated query (zod loads on first use).
const coldPath = process.env.BENCH_PATH ?? '/_ping';

function firstByte(sock: string, path = coldPath): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const s = connect(sock, () => s.write(`GET ${path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n`));
    s.once('data', () => {
      resolve(ms(process.hrtime.bigint() - t0));
      s.destroy();
    });
    s.once('error', reject);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const sock = join(dir, 'berth.sock');
const log = join(dir, 'activations.log');
const exits = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => / exit /.test(l)).length : 0);
const sa = spawn('python3', [activate, '--log', log, sock, '--', process.execPath, berth, 'serve', '--time', '0.05',
  '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--log-level', 'warn'], { stdio: 'inherit' });
try {
  while (!existsSync(sock)) await sleep(10);
  await firstByte(sock); // the first start creates the store layout; not counted
  let activations = 1;
  const cold: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < rounds; i++) {
    while (exits() < activations) await sleep(5); // wait until no berth runs
    await sleep(50);
    cold.push(await firstByte(sock));
    activations++;
    // interleaved, so both see the same machine state
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    bare.push(ms(process.hrtime.bigint() - t0));
  }
  const c = median(cold);
  const n = median(bare);
  console.log(`cold ${coldPath} through socket activation: median ${c.toFixed(1)} ms (min ${Math.min(...cold).toFixed(1)}, max ${Math.max(...cold).toFixed(1)}, n=${rounds})`);
  console.log(`bare node -e 0:                        median ${n.toFixed(1)} ms (min ${Math.min(...bare).toFixed(1)}, max ${Math.max(...bare).toFixed(1)}, n=${rounds})`);
  console.log(`ratio cold/bare: ${(c / n).toFixed(2)}`);
} finally {
  sa.kill('SIGTERM');
  await new Promise((r) => sa.once('exit', r));
}

// warm: a berth that stays up, one keep-alive connection, requests one after another
const warmSock = join(dir, 'warm.sock');
const w = spawn(process.execPath, [berth, 'serve', '--listen', `unix://${warmSock}`, '--time', '0', '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--log-level', 'warn'], { stdio: 'inherit' });
try {
  while (!existsSync(warmSock)) await sleep(10);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ping = () => new Promise<void>((resolve, reject) => {
    const r = request({ socketPath: warmSock, path: '/_ping', agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    r.on('error', reject);
    r.end();
  });
  for (let i = 0; i < 500; i++) await ping(); // warm-up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    await ping();
    n++;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`warm /_ping over one keep-alive connection: ${(n / secs).toFixed(0)} requests/s (${((secs / n) * 1e3).toFixed(3)} ms per round trip)`);
  agent.destroy();
} finally {
  w.kill('SIGTERM');
  await new Promise((r) => w.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
