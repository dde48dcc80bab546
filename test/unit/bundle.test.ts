// What a cold start loads: the modules reachable from the entry point through static imports
// are evaluated before the first request is answered. zod, undici and the schemas must not be
// among them (they load on a route's first use, see src/server/route.ts).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { bundleOptions } from '../../scripts/bundle-options.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the bundle', () => {
  it('keeps zod, undici and the schemas off the start-up path', async () => {
    const { metafile } = await esbuild.build({ ...bundleOptions(root), write: false, metafile: true, minify: false });
    const inputs = metafile!.inputs;
    const entry = Object.keys(inputs).find((k) => k.endsWith('src/cli/main.ts'))!;
    // `berth serve` is itself a dynamic import of main.ts: start from it, as a cold start does
    const serve = Object.keys(inputs).find((k) => k.endsWith('src/server/serve.ts'))!;
    const eager = new Set<string>();
    const walk = (file: string) => {
      if (eager.has(file)) return;
      eager.add(file);
      for (const imp of inputs[file]?.imports ?? []) {
        if (imp.kind === 'dynamic-import' || imp.external) continue;
        walk(imp.path);
      }
    };
    walk(entry);
    walk(serve);
    assert.ok(eager.has(serve));
    assert.ok([...eager].some((f) => f.includes('node_modules/fastify/')), 'the walk follows static imports');
    const offenders = [...eager].filter((f) => /node_modules\/(zod|undici)\//.test(f) || f.includes('src/api/schemas/'));
    assert.deepEqual(offenders.slice(0, 5), [], 'modules a cold start would evaluate');
  });

  it('has no import() of a module outside it: that fails when run from the code cache', async () => {
    const { metafile } = await esbuild.build({ ...bundleOptions(root), write: false, metafile: true, minify: false });
    const bad = Object.entries(metafile!.inputs).flatMap(([file, input]) =>
      input.imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => `${file}: import('${i.path}')`),
    );
    assert.deepEqual(bad, [], 'use lazyRequire (src/sys/lazy-require.ts) instead');
  });
});
