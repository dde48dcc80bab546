import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Demuxer, HEADER_SIZE, MAX_FRAME, muxFrame, MuxStream, StreamType } from '../../src/server/stdcopy.ts';

describe('stream multiplexer', () => {
  it('writes Docker\'s 8-byte header: stream, three zero bytes, big-endian length', () => {
    const f = muxFrame(StreamType.Stderr, 'hello');
    assert.deepEqual([...f.subarray(0, HEADER_SIZE)], [2, 0, 0, 0, 0, 0, 0, 5]);
    assert.equal(f.subarray(HEADER_SIZE).toString(), 'hello');
  });

  it('writes nothing for an empty payload', () => {
    assert.equal(muxFrame(StreamType.Stdout, '').length, 0);
  });

  it('splits payloads larger than the frame limit', () => {
    const big = Buffer.alloc(MAX_FRAME * 2 + 3, 7);
    const frames = new Demuxer().push(muxFrame(StreamType.Stdout, big));
    assert.deepEqual(frames.map((f) => f.payload.length), [MAX_FRAME, MAX_FRAME, 3]);
    assert.ok(Buffer.concat(frames.map((f) => f.payload)).equals(big));
  });

  it('decodes frames fed one byte at a time', () => {
    const wire = Buffer.concat([muxFrame(StreamType.Stdout, 'out'), muxFrame(StreamType.Stderr, 'err'), muxFrame(StreamType.SystemErr, 'boom')]);
    const d = new Demuxer();
    const got = [];
    for (const byte of wire) got.push(...d.push(Buffer.from([byte])));
    assert.deepEqual(got.map((f) => [f.stream, f.payload.toString()]), [[1, 'out'], [2, 'err'], [3, 'boom']]);
    assert.equal(d.pending, 0);
  });

  it('keeps an unfinished frame until the rest arrives', () => {
    const f = muxFrame(StreamType.Stdout, 'abcdef');
    const d = new Demuxer();
    assert.deepEqual(d.push(f.subarray(0, 10)), []);
    assert.equal(d.pending, 10);
    assert.equal(d.push(f.subarray(10))[0]!.payload.toString(), 'abcdef');
  });

  it('refuses a stream that is not multiplexed', () => {
    assert.throws(() => new Demuxer().push(Buffer.from('HTTP/1.1 200 OK\r\n')), /not a multiplexed stream/);
  });

  it('frames what is written to a MuxStream', async () => {
    const m = new MuxStream(StreamType.Stdout);
    const out: Buffer[] = [];
    m.on('data', (c: Buffer) => out.push(c));
    m.write('a');
    m.end('bc');
    await new Promise((r) => m.on('end', r));
    assert.deepEqual(new Demuxer().push(Buffer.concat(out)).map((f) => f.payload.toString()), ['a', 'bc']);
  });
});
