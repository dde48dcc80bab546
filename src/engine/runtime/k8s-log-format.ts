// conmon's k8s-file log format, one record per line:
//   `<RFC 3339 time, 9 fraction digits, local offset> <stdout|stderr> <F|P> <text>\n`
// `F` ends a line; `P` is a piece of a line that conmon wrote before the newline came (a read
// of the container's pipe ended without one) and continues in the next record of the same
// stream. Pure parsing: no files here.

export type LogStream = 'stdout' | 'stderr';

/** One record's fields; `text*` are offsets into the buffer it was parsed from. */
export interface LogRecord {
  stream: LogStream;
  partial: boolean;
  /** The time as conmon wrote it. */
  rawTime: string;
  textStart: number;
  textEnd: number;
}

const SPACE = 0x20;
const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');

/**
 * Parses the record in `buf[start, end)` (`end` excludes the newline). Undefined for a line
 * that is not a record (a torn write, garbage): readers skip it.
 */
export function parseRecord(buf: Buffer, start: number, end: number): LogRecord | undefined {
  const sp1 = buf.indexOf(SPACE, start);
  if (sp1 < 0 || sp1 + 9 > end) return undefined;
  let stream: LogStream;
  if (buf.compare(STDOUT, 0, 6, sp1 + 1, sp1 + 7) === 0) stream = 'stdout';
  else if (buf.compare(STDERR, 0, 6, sp1 + 1, sp1 + 7) === 0) stream = 'stderr';
  else return undefined;
  if (buf[sp1 + 7] !== SPACE || (sp1 + 9 < end && buf[sp1 + 9] !== SPACE)) return undefined;
  const tag = buf[sp1 + 8];
  if (tag !== 0x46 /* F */ && tag !== 0x50 /* P */) return undefined;
  return {
    stream,
    partial: tag === 0x50,
    rawTime: buf.toString('latin1', start, sp1),
    textStart: Math.min(sp1 + 10, end),
    textEnd: end,
  };
}

/** Formats a record the way conmon does (for tests and tools that write logs). */
export function formatRecord(rawTime: string, stream: LogStream, partial: boolean, text: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${rawTime} ${stream} ${partial ? 'P' : 'F'} `), Buffer.from(text), Buffer.from('\n')]);
}

/** A record's time: Docker's form (UTC, 9 fraction digits) and unix seconds (fractional). */
export interface LogTime {
  /** `2006-01-02T15:04:05.000000000Z` */
  utc: string;
  /** Whole unix seconds. */
  seconds: number;
  nanos: number;
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Converts conmon's times to UTC. Records come in runs that share their second, so the last
 * second converted is remembered: most records cost one string comparison.
 */
export class TimeConverter {
  private lastKey = '';
  private lastSeconds = 0;
  private lastPrefix = '';

  convert(raw: string): LogTime | undefined {
    // conmon: `YYYY-MM-DDTHH:MM:SS` `.nnnnnnnnn` `+hh:mm`
    const dot = raw.indexOf('.', 19);
    const fracEnd = dot < 0 ? 19 : findOffset(raw, dot + 1);
    const key = raw.slice(0, 19) + raw.slice(fracEnd);
    let frac = dot < 0 ? '' : raw.slice(dot + 1, fracEnd);
    if (key !== this.lastKey) {
      const m = TIME_RE.exec(raw);
      if (!m) return undefined;
      const [, y, mo, d, h, mi, s, , zone] = m;
      let offsetMin = 0;
      if (zone !== 'Z') {
        offsetMin = (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * (zone![0] === '-' ? -1 : 1);
      }
      const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMin * 60_000;
      if (!Number.isFinite(ms)) return undefined;
      this.lastKey = key;
      this.lastSeconds = ms / 1000;
      this.lastPrefix = new Date(ms).toISOString().slice(0, 19);
    }
    if (frac.length !== 9) frac = (frac + '000000000').slice(0, 9);
    return { utc: `${this.lastPrefix}.${frac}Z`, seconds: this.lastSeconds, nanos: Number(frac) };
  }
}

function findOffset(raw: string, from: number): number {
  let i = from;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i;
}

/** Unix seconds (fractional, as the API's `since`/`until`) against a record's time. */
export function timeAfter(t: LogTime, unixSeconds: number): boolean {
  const whole = Math.floor(unixSeconds);
  if (t.seconds !== whole) return t.seconds > whole;
  return t.nanos > Math.round((unixSeconds - whole) * 1e9);
}

export function timeBefore(t: LogTime, unixSeconds: number): boolean {
  const whole = Math.floor(unixSeconds);
  if (t.seconds !== whole) return t.seconds < whole;
  return t.nanos < Math.round((unixSeconds - whole) * 1e9);
}
