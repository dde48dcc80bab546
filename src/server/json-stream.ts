// Docker's progress streams (pull, push, load, import): a 200 answer of JSON messages, one per
// line. The answer starts only with the first message: an error before it (a bad reference, a
// missing manifest) is an ordinary error answer with its status code, as Docker gives; an error
// after it can only be told in the stream, as `{"errorDetail":{"message":…},"error":…}`.
import { PassThrough } from 'node:stream';
import { toHttpError } from './errors.ts';

export type Emit = (message: object) => void;

/**
 * Runs `work` and returns what the route should answer: the stream once `work` has emitted,
 * or nothing if it finished silently. Throws what `work` throws before its first message.
 */
export function streamJson(work: (emit: Emit) => Promise<void>): Promise<PassThrough | undefined> {
  return new Promise((resolve, reject) => {
    let out: PassThrough | undefined;
    const emit: Emit = (message) => {
      if (!out) {
        out = new PassThrough();
        resolve(out);
      }
      if (!out.writableEnded) out.write(`${JSON.stringify(message)}\n`);
    };
    work(emit).then(
      () => {
        if (out) out.end();
        else resolve(undefined);
      },
      (err: unknown) => {
        if (!out) return reject(err);
        const { message } = toHttpError(err);
        out.end(`${JSON.stringify({ errorDetail: { message }, error: message })}\n`);
      },
    );
  });
}
