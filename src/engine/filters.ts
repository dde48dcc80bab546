// Docker's list filters: which keys a listing accepts, and the rules every listing shares
// (labels as `key` or `key=value`, booleans as "true"/"false"/"1"/"0").
import { InvalidArgument } from './errors.ts';

export type Filters = Record<string, string[]>;

/** Docker's 400 for a key the listing does not know. */
export function checkFilterKeys(filters: Filters, allowed: string[]): void {
  for (const key of Object.keys(filters)) {
    if (!allowed.includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  }
}

/** `label=key` matches any value, `label=key=value` that value; every label filter must match. */
export function matchLabels(labels: Record<string, string> | null | undefined, wanted: string[] | undefined): boolean {
  if (!wanted?.length) return true;
  return wanted.every((w) => {
    const i = w.indexOf('=');
    if (i < 0) return labels != null && Object.prototype.hasOwnProperty.call(labels, w);
    const k = w.slice(0, i);
    return labels != null && Object.prototype.hasOwnProperty.call(labels, k) && labels[k] === w.slice(i + 1);
  });
}

/** `label!=…` filters (Docker's negated form): none may match. */
export function matchNotLabels(labels: Record<string, string> | null | undefined, unwanted: string[] | undefined): boolean {
  return !unwanted?.length || unwanted.every((u) => !matchLabels(labels, [u]));
}

/** A boolean filter value as Docker accepts it. */
export function filterBool(key: string, values: string[] | undefined): boolean | undefined {
  if (!values?.length) return undefined;
  const v = values[values.length - 1]!.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidArgument(`Invalid filter '${key}=${values[values.length - 1]}'`);
}

/** `until`/`since` given as a Unix time, a duration (`10m`, `1h30m`) ago, or an RFC 3339 date. */
export function filterTime(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const dur = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
  if (dur && value !== '') return now - ((Number(dur[1] ?? 0) * 60 + Number(dur[2] ?? 0)) * 60 + Number(dur[3] ?? 0)) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgument(`failed to parse value ${value} as a time`);
  return t;
}
