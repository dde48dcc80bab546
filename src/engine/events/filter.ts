// Which events a subscriber wants: Docker's `since`/`until` times and its `/events` filters,
// with the semantics of moby's daemon/events/filter.go (values of one key are OR-ed, keys AND-ed).
import { InvalidArgument } from '../errors.ts';
import { matchLabels, type Filters } from '../filters.ts';
import { familiarName, parseNormalizedReference } from '../images/reference.ts';
import type { EventMessage } from './journal.ts';

const NS_PER_S = 1_000_000_000n;

/**
 * `since`/`until` as nanoseconds since the epoch. The daemon side of Docker takes
 * `seconds[.fraction]`; the CLI also turns Go durations (`10m`, `1h30m`: that long before now)
 * and RFC 3339 dates (`2024-01-02`, `2024-01-02T15:04:05.5Z`, no zone = local time) into that,
 * and so do we, for clients that send them as typed.
 */
export function parseEventTime(value: string, nowNs: bigint = BigInt(Date.now()) * 1_000_000n): bigint {
  const v = value.trim();
  const unix = /^(-?\d+)(?:\.(\d+))?$/.exec(v);
  if (unix) {
    const frac = (unix[2] ?? '').slice(0, 9).padEnd(9, '0');
    // as Go's time.Unix(sec, nsec): the fraction adds, even to negative seconds
    return BigInt(unix[1]!) * NS_PER_S + BigInt(frac);
  }
  const dur = goDuration(v);
  if (dur !== undefined) return nowNs - dur;
  const date = rfc3339(v);
  if (date !== undefined) return date;
  throw new InvalidArgument(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds: `1h30m`, `1.5h`, `300ms`, `-2m`. */
function goDuration(v: string): bigint | undefined {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(v);
  if (!m) return undefined;
  let total = 0;
  for (const part of v.slice(m[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_NS[part[2]!]!;
  }
  const ns = BigInt(Math.round(total));
  return m[1] === '-' ? -ns : ns;
}

/** The date forms docker/cli accepts: a date, a date and hour[:min[:sec[.frac]]], with Z, ±hh:mm or no zone (local). */
function rfc3339(v: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(v);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const zone = m[8];
  let ms: number;
  if (zone === undefined) {
    ms = new Date(y, mo - 1, d, h, mi, s).getTime();
  } else {
    ms = Date.UTC(y, mo - 1, d, h, mi, s);
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    }
  }
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

export type EventMatcher = (ev: EventMessage) => boolean;

/**
 * Docker's event filters. Unknown keys are ignored, as Docker ignores them. `container`,
 * `network`, `volume`, `daemon`, `plugin`, `node`, `service`, `secret` and `config` match the
 * actor's id or `name` attribute, exactly or by prefix, whatever the event's type (as moby does);
 * `image` matches the image id or name, with or without its tag; `event` matches the action, or
 * its part before `:` (`exec_start: sh -c …`, `health_status: healthy`).
 */
export function eventMatcher(filters: Filters = {}): EventMatcher {
  const set = (key: string): Set<string> | undefined => (filters[key]?.length ? new Set(filters[key]) : undefined);
  const types = set('type');
  const actions = set('event');
  const scopes = set('scope');
  const images = set('image');
  const labels = filters['label']?.length ? filters['label'] : undefined;
  const byName = ['daemon', 'container', 'plugin', 'volume', 'network', 'node', 'service', 'secret', 'config']
    .map((key) => filters[key]?.length ? filters[key]! : undefined)
    .filter((v): v is string[] => v !== undefined);
  if (!types && !actions && !scopes && !images && !labels && byName.length === 0) return () => true;
  return (ev) => {
    if (types && !types.has(ev.Type)) return false;
    if (actions && !actions.has(ev.Action)) {
      const colon = ev.Action.indexOf(':');
      if (colon < 0 || !actions.has(ev.Action.slice(0, colon))) return false;
    }
    if (scopes && !scopes.has(ev.scope)) return false;
    const attrs = ev.Actor.Attributes ?? {};
    for (const wanted of byName) {
      if (!fuzzy(wanted, ev.Actor.ID) && !fuzzy(wanted, attrs['name'])) return false;
    }
    if (images) {
      const name = attrs[ev.Type === 'image' ? 'name' : 'image'];
      const candidates = [ev.Actor.ID, name, stripTag(ev.Actor.ID), name === undefined ? undefined : stripTag(name)];
      if (!candidates.some((c) => c !== undefined && images.has(c))) return false;
    }
    if (labels && !matchLabels(attrs, labels)) return false;
    return true;
  };
}

function fuzzy(wanted: string[], value: string | undefined): boolean {
  if (value === undefined) return false;
  return wanted.some((w) => value === w || value.startsWith(w));
}

/** `busybox:latest` → `busybox`; what does not parse as a reference stays as it is. */
function stripTag(name: string): string {
  try {
    return familiarName(parseNormalizedReference(name));
  } catch {
    return name;
  }
}
