// The local driver's DriverOpts: `type`, `device` and `o` say what to mount at the volume's _data
// (mount(8)'s -t, device and -o), as Docker's local driver takes them. Checked at create; what
// the kernel thinks of them is only known when the volume is first mounted.
import { InvalidArgument } from '../errors.ts';

const VALID = new Set(['type', 'o', 'device', 'size']);
/** Docker's: an option that needs others beside it. */
const REQUIRES: Array<[string, string[]]> = [
  ['device', ['type']],
  ['type', ['device']],
  ['o', ['device', 'type']],
];

export function validateDriverOptions(name: string, opts: Record<string, string> | null): void {
  if (!opts || Object.keys(opts).length === 0) return;
  const bad = (why: string) => new InvalidArgument(`create ${name}: ${why}`);
  for (const key of Object.keys(opts)) if (!VALID.has(key)) throw bad(`invalid option: ${JSON.stringify(key)}`);
  if ('size' in opts) {
    const size = parseSize(opts['size']!);
    if (size === undefined) throw bad(`invalid size: '${opts['size']}'`);
    if (size > 0) throw bad('quota size requested but no quota support');
  }
  for (const [opt, needs] of REQUIRES) {
    if (!(opt in opts)) continue;
    for (const n of needs) if (!(n in opts)) throw bad(`missing required option: ${JSON.stringify(n)}`);
  }
}

/** go-units RAMInBytes: `100m`, `1g`, `512k`, `1024` (binary multiples). */
function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(s.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }[m[2]!.toLowerCase() as '' | 'k'];
  return Math.floor(Number(m[1]) * mult);
}

/** Whether the volume is a mount of its own (rather than the plain _data dir). */
export function needsMount(opts: Record<string, string> | null | undefined): boolean {
  return !!opts && (!!opts['device'] || !!opts['type']);
}

// mount(2) flags, as mount(8) and Docker's mount package read them from `o`
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  REC: 0x4000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
} as const;

/** option → [clear (true: the option turns the flag off), flag] */
const FLAGS: Record<string, [boolean, number]> = {
  defaults: [false, 0],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  suid: [true, MS.NOSUID],
  nosuid: [false, MS.NOSUID],
  dev: [true, MS.NODEV],
  nodev: [false, MS.NODEV],
  exec: [true, MS.NOEXEC],
  noexec: [false, MS.NOEXEC],
  sync: [false, MS.SYNCHRONOUS],
  async: [true, MS.SYNCHRONOUS],
  dirsync: [false, MS.DIRSYNC],
  remount: [false, MS.REMOUNT],
  mand: [false, MS.MANDLOCK],
  nomand: [true, MS.MANDLOCK],
  atime: [true, MS.NOATIME],
  noatime: [false, MS.NOATIME],
  diratime: [true, MS.NODIRATIME],
  nodiratime: [false, MS.NODIRATIME],
  bind: [false, MS.BIND],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  norelatime: [true, MS.RELATIME],
  strictatime: [false, MS.STRICTATIME],
  nostrictatime: [true, MS.STRICTATIME],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface MountOptions {
  /** Flags of the mount itself. */
  flags: number;
  /** A propagation change made after it (0: none). */
  propagation: number;
  /** What the filesystem gets (the options that are not flags), comma-joined. */
  data: string;
}

/** `o` split into mount(2) flags and the filesystem's own options, as mount(8) does. */
export function parseMountOptions(o: string | undefined): MountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const opt of (o ?? '').split(',')) {
    if (!opt) continue;
    const f = FLAGS[opt];
    if (f) {
      flags = f[0] ? flags & ~f[1] : flags | f[1];
      continue;
    }
    const p = PROPAGATION[opt];
    if (p) {
      propagation |= p;
      continue;
    }
    data.push(opt);
  }
  return { flags, propagation, data: data.join(',') };
}
