// The one place where errors become HTTP answers: Docker's `{"message": …}` body and the
// status code of the error's kind (moby's httpstatus mapping).
import { EngineError, type ErrorKind } from '../engine/errors.ts';

const statusOfKind: Record<ErrorKind, number> = {
  'invalid-argument': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'not-modified': 304,
  'not-implemented': 501,
  unavailable: 503,
  system: 500,
};

export interface HttpError {
  status: number;
  message: string;
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof EngineError) return { status: statusOfKind[err.kind], message: err.message };
  // fastify's own errors (bad JSON, unsupported media type, body too large) carry a status.
  if (err instanceof Error && 'statusCode' in err && typeof err.statusCode === 'number') {
    const status = err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    return { status, message: err.message };
  }
  return { status: 500, message: err instanceof Error ? err.message : String(err) };
}
