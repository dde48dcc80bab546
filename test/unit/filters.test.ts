import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queryFilters } from '../../src/api/schemas/common.ts';
import { checkFilterKeys, filterBool, filterTime, matchLabels } from '../../src/engine/filters.ts';

describe('filters', () => {
  it('reads both JSON forms clients send', () => {
    assert.deepEqual(queryFilters.parse('{"label":{"a=b":true,"c":false}}'), { label: ['a=b'] });
    assert.deepEqual(queryFilters.parse('{"dangling":["true"]}'), { dangling: ['true'] });
    assert.deepEqual(queryFilters.parse(''), {});
    assert.equal(queryFilters.safeParse('{bad').success, false);
  });
  it('matches labels by key or key=value', () => {
    const labels = { a: 'b', empty: '' };
    assert.equal(matchLabels(labels, ['a']), true);
    assert.equal(matchLabels(labels, ['a=b', 'empty=']), true);
    assert.equal(matchLabels(labels, ['a=c']), false);
    assert.equal(matchLabels(null, ['a']), false);
    assert.equal(matchLabels(null, undefined), true);
  });
  it('rejects unknown keys and bad booleans with Docker\'s words', () => {
    assert.throws(() => checkFilterKeys({ nope: ['1'] }, ['label']), /invalid filter 'nope'/);
    assert.throws(() => filterBool('dangling', ['maybe']), /Invalid filter 'dangling=maybe'/);
    assert.equal(filterBool('dangling', ['1']), true);
  });
  it('reads times as Unix seconds, durations ago, or dates', () => {
    assert.equal(filterTime('1700000000'), 1_700_000_000_000);
    assert.equal(filterTime('1h30m', 10_000_000), 10_000_000 - 5_400_000);
    assert.equal(filterTime('2023-11-14T22:13:20Z'), 1_700_000_000_000);
    assert.throws(() => filterTime('yesterday'), /failed to parse/);
  });
});
