// A child process for the store tests: `write FILE` rewrites FILE atomically for ever;
// `count FILE LOCK N` increments a counter in FILE N times under LOCK; `hold LOCK` takes LOCK
// and waits to be killed.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { writeJsonAtomic } from '../../src/store/atomic.ts';
import { acquireLock, withLock } from '../../src/store/lock.ts';

export function sealed(gen: number, size: number) {
  const pad = String(gen % 10).repeat(size);
  return { gen, pad, sum: createHash('sha256').update(`${gen}:${pad}`).digest('hex') };
}

export function isSealed(v: { gen: number; pad: string; sum: string }): boolean {
  return createHash('sha256').update(`${v.gen}:${v.pad}`).digest('hex') === v.sum;
}

const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
const [cmd, file, lock, n] = main ? process.argv.slice(2) : [];
if (cmd === 'write') {
  let gen = 0;
  process.stdout.write('ready\n');
  for (;;) {
    gen++;
    // sizes vary so a torn write would show as a bad length or a bad checksum
    await writeJsonAtomic(file!, sealed(gen, 50_000 + (gen % 7) * 40_000));
  }
} else if (cmd === 'count') {
  for (let i = 0; i < Number(n); i++) {
    await withLock(lock!, async () => {
      const v = JSON.parse(await readFile(file!, 'utf8')) as { count: number };
      await new Promise((r) => setImmediate(r)); // let the others run between read and write
      await writeJsonAtomic(file!, { count: v.count + 1 }, { durable: false });
    });
  }
} else if (cmd === 'hold') {
  await acquireLock(lock!);
  process.stdout.write('locked\n');
  setInterval(() => {}, 1000);
}
