// npm run coverage: which operations of Docker's API (v1.50, the docker 28 CLI's) berth serves,
// counting the non-swarm ones only. The last line is `compat coverage: N/M operations`.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { allRoutes } from '../src/api/routes.ts';

const SCOPE = new Set(['Container', 'Image', 'Network', 'Volume', 'Exec', 'System', 'Distribution']);
const specPath = process.argv[2] ?? new URL('../../shared/api/docker-engine-v1.50.yaml', import.meta.url).pathname;
const spec = parse(readFileSync(specPath, 'utf8')) as { paths: Record<string, Record<string, { tags?: string[]; operationId?: string }>> };

const norm = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`;
const served = new Set(allRoutes.filter((r) => r.api === 'compat').map((r) => norm(r.method, r.path)));

const rows: Array<{ tag: string; op: string; id: string; ok: boolean }> = [];
for (const [path, ops] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(ops)) {
    const tag = op.tags?.find((t) => SCOPE.has(t));
    if (!tag) continue;
    const key = norm(method, path);
    rows.push({ tag, op: `${method.toUpperCase()} ${path}`, id: op.operationId ?? '', ok: served.has(key) });
  }
}
rows.sort((a, b) => a.tag.localeCompare(b.tag) || a.op.localeCompare(b.op));
for (const tag of SCOPE) {
  const mine = rows.filter((r) => r.tag === tag);
  console.log(`${tag}: ${mine.filter((r) => r.ok).length}/${mine.length}`);
  for (const r of mine) console.log(`  [${r.ok ? 'x' : ' '}] ${r.op} (${r.id})`);
}
console.log(`compat coverage: ${rows.filter((r) => r.ok).length}/${rows.length} operations`);
