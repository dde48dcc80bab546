// The esbuild options of berth's bundle, shared by the build and the test that checks what a
// cold start loads.
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';

export function bundleOptions(root: string): BuildOptions & { define: Record<string, string> } {
  return {
    entryPoints: [join(root, 'src/cli/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    // ASCII output (non-ASCII escaped), so the launcher can read it as latin1
    charset: 'ascii',
    // koffi loads its native binary at run time from its own package directory. fastify's
    // schema compilers and inject() are never called by berth (src/server/app.ts): leaving them
    // out of the bundle makes every cold start read and compile less.
    // ws's optional native helpers (bufferutil, utf-8-validate) are tried at run time and absent.
    external: ['koffi', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request', 'bufferutil', 'utf-8-validate'],
    define: { 'import.meta.url': '__berth_bundle_url' },
    banner: { js: 'const __berth_bundle_url=require("url").pathToFileURL(__filename).href;' },
  };
}

/**
 * The layer unpack worker (src/engine/storage/unpack-worker.ts starts it): its own small bundle
 * beside the main one, so nothing of it is parsed or compiled at start-up.
 */
export function workerBundleOptions(root: string): BuildOptions & { define: Record<string, string> } {
  return { ...bundleOptions(root), entryPoints: [join(root, 'src/engine/storage/unpack-worker-main.ts')] };
}
