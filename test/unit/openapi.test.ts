import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { allRoutes } from '../../src/api/routes.ts';
import { openApiDocument, openApiText } from '../../scripts/openapi-doc.ts';

const root = new URL('../..', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };

describe('openapi/', () => {
  it('is current: run `npm run openapi` after changing routes or schemas', async () => {
    const committed = readFileSync(new URL('openapi/berth.json', root), 'utf8');
    assert.equal(committed, await openApiText(allRoutes, pkg.version));
  });

  it('describes every route once, with a unique operationId', async () => {
    const doc = (await openApiDocument(allRoutes, pkg.version)) as { paths: Record<string, Record<string, { operationId: string }>> };
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    assert.equal(ids.length, allRoutes.length);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(doc.paths['/libpod/info']?.['get']);
    assert.ok(doc.paths['/_ping']?.['head']);
  });
});
