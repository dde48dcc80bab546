import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { errorMessage, humanSize, progressBar, progressMessage, shortId, statusMessage } from '../../src/engine/images/progress.ts';

const golden = readFileSync(new URL('../../../shared/golden/docker-20.10/11-pull-stream.txt', import.meta.url), 'utf8');

describe('progress messages', () => {
  it('prints sizes as Docker does', () => {
    assert.equal(humanSize(29), '29B');
    assert.equal(humanSize(3645), '3.645kB');
    assert.equal(humanSize(264283), '264.3kB');
    assert.equal(humanSize(1031967), '1.032MB');
    assert.equal(humanSize(1000), '1kB');
    assert.equal(humanSize(0), '0B');
  });

  it('draws every progress bar of Docker\'s recorded pull the same', () => {
    const lines = golden.split('\n').filter((l) => l.startsWith('{') && l.includes('"progress":'));
    assert.ok(lines.length > 5);
    for (const line of lines) {
      const m = JSON.parse(line);
      assert.equal(progressBar(m.progressDetail.current, m.progressDetail.total), m.progress, line);
      assert.deepEqual(progressMessage(m.status, m.id, m.progressDetail.current, m.progressDetail.total), m);
    }
  });

  it('writes status lines in Docker\'s shape', () => {
    const pulling = golden.split('\n').find((l) => l.includes('"Pulling fs layer"'))!;
    const m = JSON.parse(pulling);
    assert.deepEqual(statusMessage('Pulling fs layer', m.id), m);
    assert.deepEqual(statusMessage('Digest: sha256:x'), { status: 'Digest: sha256:x' });
    assert.equal(shortId('sha256:ece4de5b4b74d7a4f393335c71b20c5dff5d63418c8457f8296b9c758d9ab763'), 'ece4de5b4b74');
    assert.deepEqual(errorMessage('boom'), { errorDetail: { message: 'boom' }, error: 'boom' });
  });

  it('shows only the count when the total is unknown or exceeded', () => {
    assert.equal(progressBar(1500, 0), '   1.5kB');
    assert.equal(progressBar(2000, 1000), `[${'='.repeat(50)}>] ${'2kB'.padStart(8)}`);
  });
});
