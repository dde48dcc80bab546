// Volume names as Docker's local driver takes them, and the names it makes for anonymous volumes.
import { randomBytes } from 'node:crypto';
import { InvalidArgument } from '../errors.ts';

/** Docker's restricted name characters, quoted in its message. */
export const VOLUME_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's label on volumes made without a name (prune from API 1.42 takes only these by default). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/** The reason a name is refused (without the `create <name>: ` prefix), or undefined when it is fine. */
export function volumeNameProblem(name: string): string | undefined {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  if (!VOLUME_NAME_RE.test(name)) {
    return `${JSON.stringify(name)} includes invalid characters for a local volume name, only ${JSON.stringify(VOLUME_NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return undefined;
}

export function validateVolumeName(name: string): void {
  const problem = volumeNameProblem(name);
  if (problem) throw new InvalidArgument(`create ${name}: ${problem}`);
}

/** 64 hex digits, as Docker names anonymous volumes. */
export function newVolumeName(): string {
  return randomBytes(32).toString('hex');
}
