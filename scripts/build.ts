// Builds dist/: one bundled file of all of berth (esbuild), the launcher that package.json's
// `bin` names, and a V8 code cache that the launcher loads so a cold start compiles little.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import * as esbuild from 'esbuild';
import { bundleOptions, workerBundleOptions } from './bundle-options.ts';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
// Built beside dist/ and swapped in at the end: containers running while berth is rebuilt run
// `dist/berth.cjs cleanup` when they exit, and must always find a whole build there.
const stage = join(root, `.dist-new-${process.pid}`);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

// A reproducible build time when the commit has one; the clock otherwise.
function buildTime() {
  try {
    const t = execFileSync('git', ['log', '-1', '--format=%cI'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (t) return new Date(t).toISOString();
  } catch {}
  return new Date().toISOString();
}

rmSync(stage, { recursive: true, force: true });

await esbuild.build({
  ...bundleOptions(root),
  outfile: join(stage, 'berth-bundle.cjs'),
  define: {
    ...bundleOptions(root).define,
    __BERTH_VERSION__: JSON.stringify(pkg.version),
    __BERTH_COMMIT__: JSON.stringify(gitCommit()),
    __BERTH_BUILD_TIME__: JSON.stringify(buildTime()),
  },
  legalComments: 'linked',
  logLevel: 'warning',
});

// the layer unpack worker, loaded by a pull's first layer only
await esbuild.build({ ...workerBundleOptions(root), outfile: join(stage, 'unpack-worker.cjs'), legalComments: 'linked', logLevel: 'warning' });

const launcher = `#!/usr/bin/env node
// berth's launcher: runs the bundle with V8's code cache, so a cold start parses and compiles
// little. A cache from another V8 or another bundle is rejected by V8 and ignored.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');
const file = path.join(__dirname, 'berth-bundle.cjs');
const cacheFile = path.join(__dirname, 'berth-bundle.cache');
let cachedData;
try { cachedData = fs.readFileSync(cacheFile); } catch {}
// latin1 is a plain copy (the bundle is ASCII: esbuild escapes the rest), faster than utf8
// (no import() of outside modules works in here: src/sys/lazy-require.ts)
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'latin1')), { filename: file, cachedData });
const out = process.env.BERTH_WRITE_CODE_CACHE;
if (out) {
  delete process.env.BERTH_WRITE_CODE_CACHE;
  process.on('exit', () => fs.writeFileSync(out, script.createCachedData()));
}
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(__dirname);
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, __dirname);
`;
writeFileSync(join(stage, 'berth.cjs'), launcher);
chmodSync(join(stage, 'berth.cjs'), 0o755);

// The code cache is taken from a real run: start, answer the requests a client makes first,
// exit when idle. Functions compiled by then are in the cache.
const tmp = mkdtempSync(join(tmpdir(), 'berth-build-'));
const sock = join(tmp, 'b.sock');
const cache = join(stage, 'berth-bundle.cache');
const child = spawn(process.execPath, [join(stage, 'berth.cjs'), 'serve', '--listen', `unix://${sock}`, '--time', '0.5',
  '--root', join(tmp, 'root'), '--runroot', join(tmp, 'run'), '--log-level', 'silent'], {
  env: { ...process.env, BERTH_WRITE_CODE_CACHE: cache },
  stdio: 'inherit',
});
const get = (path: string, method = 'GET') => new Promise<void>((resolve, reject) => {
  const req = request({ socketPath: sock, path, method }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end();
});
for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
try {
  for (const [p, m] of [['/_ping', 'HEAD'], ['/_ping', 'GET'], ['/v1.51/version', 'GET'], ['/v1.51/info', 'GET'], ['/v1.51/nope', 'GET'], ['/v1.10/version', 'GET']] as const) await get(p, m);
} catch (err) {
  console.error('build: warm-up requests failed:', (err as Error).message);
}
const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
rmSync(tmp, { recursive: true, force: true });
if (code !== 0 || !existsSync(cache)) {
  console.error(`build: the warm-up run exited ${code}; no code cache`);
  rmSync(cache, { force: true });
}
const cached = existsSync(cache);
const old = join(root, `.dist-old-${process.pid}`);
if (existsSync(dist)) renameSync(dist, old);
renameSync(stage, dist);
rmSync(old, { recursive: true, force: true });
console.log(`built dist/berth.cjs (${(readFileSync(join(dist, 'berth-bundle.cjs')).length / 1024).toFixed(0)} KiB bundle${cached ? ', code cache' : ''})`);
