// Typed engine errors. The engine throws these; the server maps each kind to an HTTP status in
// one place (src/server/errors.ts), so no route ever picks a status code by hand.

export type ErrorKind =
  | 'invalid-argument'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'not-modified'
  | 'not-implemented'
  | 'unavailable'
  | 'system';

export class EngineError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = new.target.name;
  }
}

/** Bad input from the client (400). */
export class InvalidArgument extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid-argument', message, options);
  }
}

/** The named object does not exist (404). */
export class NotFound extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('not-found', message, options);
  }
}

/** The request clashes with the current state, e.g. a name in use (409). */
export class Conflict extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('conflict', message, options);
  }
}

/** Nothing to do: already started/stopped (304, empty body). */
export class NotModified extends EngineError {
  constructor(message: string) {
    super('not-modified', message);
  }
}

export class Unauthorized extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unauthorized', message, options);
  }
}

export class Forbidden extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('forbidden', message, options);
  }
}

export class NotImplemented extends EngineError {
  constructor(message: string) {
    super('not-implemented', message);
  }
}

export class Unavailable extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, options);
  }
}

/** Something failed on the host: a program, a syscall, the disk (500). */
export class SystemError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('system', message, options);
  }
}
