// Builds dist/: one bundled file of all of berth (esbuild), the launcher that package.json's
// `bin` names, and a V8 code cache that the launcher loads so a cold start compiles little.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import * as esbuild from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
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

rmSync(dist, { recursive: true, force: true });

await esbuild.build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(dist, 'berth-bundle.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  keepNames: false,
  legalComments: 'linked',
  // koffi loads its native binary at run time from its own package directory. fastify's schema
  // compilers and inject() are never called by berth (src/server/app.ts): leaving them out of
  // the bundle makes every cold start read and compile less.
  external: ['koffi', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request'],
  define: {
    __BERTH_VERSION__: JSON.stringify(pkg.version),
    __BERTH_COMMIT__: JSON.stringify(gitCommit()),
    __BERTH_BUILD_TIME__: JSON.stringify(buildTime()),
    'import.meta.url': '__berth_bundle_url',
  },
  banner: { js: 'const __berth_bundle_url=require("url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
});

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
writeFileSync(join(dist, 'berth.cjs'), launcher);
chmodSync(join(dist, 'berth.cjs'), 0o755);

// The code cache is taken from a real run: start, answer the requests a client makes first,
// exit when idle. Functions compiled by then are in the cache.
const tmp = mkdtempSync(join(tmpdir(), 'berth-build-'));
const sock = join(tmp, 'b.sock');
const cache = join(dist, 'berth-bundle.cache');
const child = spawn(process.execPath, [join(dist, 'berth.cjs'), 'serve', '--listen', `unix://${sock}`, '--time', '0.5',
  '--root', join(tmp, 'root'), '--runroot', join(tmp, 'run'), '--log-level', 'silent'], {
  env: { ...process.env, BERTH_WRITE_CODE_CACHE: cache },
  stdio: 'inherit',
});
const get = (path, method = 'GET') => new Promise((resolve, reject) => {
  const req = request({ socketPath: sock, path, method }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end();
});
for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
try {
  for (const [p, m] of [['/_ping', 'HEAD'], ['/_ping'], ['/v1.51/version'], ['/v1.51/info'], ['/v1.51/nope'], ['/v1.10/version']]) await get(p, m);
} catch (err) {
  console.error('build: warm-up requests failed:', err.message);
}
const code = await new Promise((resolve) => child.on('exit', resolve));
rmSync(tmp, { recursive: true, force: true });
if (code !== 0 || !existsSync(cache)) {
  console.error(`build: the warm-up run exited ${code}; no code cache`);
  rmSync(cache, { force: true });
}
console.log(`built dist/berth.cjs (${(readFileSync(join(dist, 'berth-bundle.cjs')).length / 1024).toFixed(0)} KiB bundle${existsSync(cache) ? ', code cache' : ''})`);
