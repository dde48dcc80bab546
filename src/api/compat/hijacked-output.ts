// The output side of attach and exec streams: the connection taken over with Docker's content
// type (raw with a TTY or before API 1.42, multiplexed otherwise), and a writer that frames
// stdout/stderr accordingly.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { atLeast } from '../../server/api-version.ts';
import { hijack, MULTIPLEXED_STREAM, RAW_STREAM, type HijackedStream } from '../../server/hijack.ts';
import { muxFrame } from '../../server/stdcopy.ts';

export interface HijackedOutput {
  stream: HijackedStream;
  write(stream: 1 | 2, data: Buffer): void;
}

export function hijackForStreams(request: FastifyRequest, reply: FastifyReply, apiVersion: string, tty: boolean): HijackedOutput {
  const stream = hijack(request, reply, tty || !atLeast(apiVersion, '1.42') ? RAW_STREAM : MULTIPLEXED_STREAM);
  return {
    stream,
    write: (s, data) => {
      if (stream.output.writable) stream.output.write(tty ? data : muxFrame(s, data));
    },
  };
}
