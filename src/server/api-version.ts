// API versions: which Docker Engine API versions berth speaks, and how a request path names one.
import { InvalidArgument } from '../engine/errors.ts';

export const MIN_API_VERSION = '1.24';
export const MAX_API_VERSION = '1.51';
/** The libpod API version advertised in `Libpod-API-Version` (podman --remote checks its major). */
export const LIBPOD_API_VERSION = '5.0.0';

export interface ApiPath {
  /** `compat` for Docker Engine paths, `libpod` for `/libpod/…`. */
  api: 'compat' | 'libpod';
  /** The version named in the path (`1.41`, `5.0.0`), or undefined when unversioned. */
  version: string | undefined;
  /** The path with the version prefix removed, query string kept. */
  url: string;
}

const versionPrefix = /^\/v(\d+(?:\.\d+){1,2})(?=\/|$|\?)/;

/** Splits `/v1.41/containers/json?all=1` into its version and the unversioned path. */
export function splitApiPath(url: string): ApiPath {
  const m = versionPrefix.exec(url);
  const rest = m ? url.slice(m[0].length) || '/' : url;
  const api = rest === '/libpod' || rest.startsWith('/libpod/') || rest.startsWith('/libpod?') ? 'libpod' : 'compat';
  return { api, version: m?.[1], url: rest };
}

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The Docker API version a compat request is served at: the one in its path, checked against
 * [MIN, MAX] with Docker's wording, or the newest when the path names none.
 */
export function negotiateCompatVersion(requested: string | undefined): string {
  if (requested === undefined) return MAX_API_VERSION;
  if (compareVersions(requested, MIN_API_VERSION) < 0) {
    throw new InvalidArgument(
      `client version ${requested} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(requested, MAX_API_VERSION) > 0) {
    throw new InvalidArgument(
      `client version ${requested} is too new. Maximum supported API version is ${MAX_API_VERSION}`,
    );
  }
  return requested;
}

/** True when the request's API version is at least `v` (for behaviour that changed over time). */
export function atLeast(apiVersion: string, v: string): boolean {
  return compareVersions(apiVersion, v) >= 0;
}
