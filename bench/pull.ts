// bench/pull: `docker pull` of a big multi-layer image into an empty berth store, against
// `skopeo copy docker://… oci:…` of the same image (download and store only; berth also
// unpacks), from a local registry, in the same run; median of N rounds, as a ratio.
// The image (default 4 layers x 32 MiB of incompressible files, gzip) is generated here.
// When podman is installed (not by CI), `podman pull` of the same image is timed too: it does
// berth's work (download, verify, decompress, unpack into overlay dirs), so it is the peer.
// Run by hand after `npm run build`: npx tsx bench/pull.ts [rounds] [layerMiB]
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

const rounds = Number(process.argv[2] ?? 3);
const layerMiB = Number(process.argv[3] ?? 32);
const LAYERS = 4;
const PORT = 5390;
const repo = fileURLToPath(new URL('..', import.meta.url));
const berth = join(repo, 'dist/berth.cjs');
const registrySh = join(repo, '../shared/fixtures/registry.sh');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** user+system CPU time of a process, all its threads (from /proc: the machine has 2 cores, so CPU is what a pull competes for) */
const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
};
/** CPU time of the waited-for children so far (getrusage RUSAGE_CHILDREN, through /proc/self/stat's cutime/cstime) */
const childCpuMs = () => {
  const f = readFileSync('/proc/self/stat', 'latin1');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
};

const dir = mkdtempSync(join(tmpdir(), 'berth-bench-pull-'));
const env = { ...process.env, BERTH_FIXTURE_STATE: join(dir, 'registry') };

/** A layer of 1 MiB random files: gzip cannot shrink it, so the transfer is the real size. */
async function makeLayer(n: number): Promise<{ tar: Buffer; gz: Buffer }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => pack.on('end', r));
  pack.entry({ name: `layer${n}/`, type: 'directory', mode: 0o755 });
  for (let i = 0; i < layerMiB; i++) pack.entry({ name: `layer${n}/f${i}`, mode: 0o644 }, randomBytes(1 << 20));
  pack.finalize();
  await done;
  const t = Buffer.concat(chunks);
  return { tar: t, gz: gzipSync(t, { level: 1 }) };
}

async function makeImage(layout: string): Promise<number> {
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const h = sha(b);
    writeFileSync(join(blobs, h), b);
    return { digest: `sha256:${h}`, size: b.length };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < LAYERS; i++) {
    const l = await makeLayer(i);
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(l.gz) });
    diffIds.push(`sha256:${sha(l.tar)}`);
  }
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, config: {} })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers })));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'big' } }] }));
  return layers.reduce((n, l) => n + l.size, 0);
}

function pullWithBerth(sock: string, image: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method: 'POST', path: `/images/create?fromImage=${encodeURIComponent(image)}&tag=latest` }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 200 && !body.includes('"error"') ? resolve() : reject(new Error(body))));
    });
    req.on('error', reject);
    req.end();
  });
}

try {
  const bytes = await makeImage(join(dir, 'src'));
  execFileSync(registrySh, ['start', String(PORT)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const image = `127.0.0.1:${PORT}/bench/big`;
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${join(dir, 'src')}:big`, `docker://${image}:latest`], { stdio: 'inherit' });
  console.log(`image: ${LAYERS} layers, ${(bytes / 1048576).toFixed(1)} MiB compressed`);
  const skopeo: number[] = [];
  const berthTimes: number[] = [];
  const skopeoCpu: number[] = [];
  const berthCpu: number[] = [];
  const podman = existsSync('/usr/bin/podman');
  const podmanTimes: number[] = [];
  const podmanCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const out = join(dir, `skopeo-${r}`);
    let t0 = performance.now();
    const children0 = childCpuMs();
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${image}:latest`, `oci:${out}:big`], { stdio: 'inherit' });
    skopeo.push(performance.now() - t0);
    skopeoCpu.push(childCpuMs() - children0);
    rmSync(out, { recursive: true, force: true });

    if (podman) {
      const proot = join(dir, `podman-${r}`);
      const store = ['--root', join(proot, 'root'), '--runroot', join(proot, 'run'), '--storage-driver', 'overlay'];
      t0 = performance.now();
      const c0 = childCpuMs();
      execFileSync('podman', [...store, 'pull', '-q', '--tls-verify=false', `docker://${image}:latest`], { stdio: 'ignore' });
      podmanTimes.push(performance.now() - t0);
      podmanCpu.push(childCpuMs() - c0);
      execFileSync('podman', [...store, 'system', 'reset', '-f'], { stdio: 'ignore' });
      rmSync(proot, { recursive: true, force: true });
    }

    const root = join(dir, `berth-${r}`);
    const sock = join(root, 'berth.sock');
    // BENCH_PROFILE=<dir>: a CPU profile of each berth run, to see where a pull spends its time
    const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
    const proc = spawn(process.execPath, [...prof, berth, 'serve', '--listen', `unix://${sock}`, '--root', join(root, 'root'), '--runroot', join(root, 'run'), '--time', '0', '--log-level', 'warn'], { stdio: 'inherit' });
    for (let i = 0; i < 500; i++) {
      try {
        await new Promise<void>((res, rej) => request({ socketPath: sock, path: '/_ping' }, () => res()).on('error', rej).end());
        break;
      } catch {
        await sleep(10);
      }
    }
    const cpu0 = cpuMs(proc.pid!);
    t0 = performance.now();
    await pullWithBerth(sock, image);
    berthTimes.push(performance.now() - t0);
    berthCpu.push(cpuMs(proc.pid!) - cpu0);
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(root, { recursive: true, force: true });
    const p = podman ? `, podman ${podmanTimes[r]!.toFixed(0)} ms (cpu ${podmanCpu[r]!.toFixed(0)} ms)` : '';
    console.log(`round ${r + 1}: skopeo ${skopeo[r]!.toFixed(0)} ms (cpu ${skopeoCpu[r]!.toFixed(0)} ms), berth ${berthTimes[r]!.toFixed(0)} ms (cpu ${berthCpu[r]!.toFixed(0)} ms)${p}`);
  }
  const s = median(skopeo);
  const b = median(berthTimes);
  if (podman) {
    const p = median(podmanTimes);
    console.log(`median: podman pull ${p.toFixed(0)} ms (cpu ${median(podmanCpu).toFixed(0)} ms), ratio to skopeo ${(p / s).toFixed(2)}; berth / podman ${(b / p).toFixed(2)}`);
  }
  console.log(`median: skopeo copy ${s.toFixed(0)} ms, berth pull+unpack ${b.toFixed(0)} ms, ratio ${(b / s).toFixed(2)} (goal <= 1.2); cpu time: skopeo ${median(skopeoCpu).toFixed(0)} ms, berth ${median(berthCpu).toFixed(0)} ms`);
} finally {
  execFileSync(registrySh, ['stop', String(PORT)], { env, stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
