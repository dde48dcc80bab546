// Loading a node builtin (or an external package) on first use instead of at start-up.
// Not `await import()`: the bundle runs from V8's code cache (dist/berth.cjs), where import()
// of a module outside the bundle has no loader. require() works there and under tsx alike.
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= requireHere(id) as T);
}
