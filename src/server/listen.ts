// Where the service listens: the sockets systemd (or socket-activate) passed us, or the paths
// of --listen, bound here with the checks a second instance needs.
import { promises as fs } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';

export interface ActivatedSocket {
  fd: number;
  name: string;
}

const SD_LISTEN_FDS_START = 3;

/**
 * The sockets of systemd socket activation, when LISTEN_PID names this process. The variables
 * are removed from the environment either way, so no child (conmon, runc) inherits them.
 */
export function takeActivatedSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): ActivatedSocket[] {
  const count = Number(env.LISTEN_FDS);
  const forUs = env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) === pid;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs || !Number.isInteger(count) || count <= 0) return [];
  return Array.from({ length: count }, (_, i) => ({ fd: SD_LISTEN_FDS_START + i, name: names[i] || `fd${SD_LISTEN_FDS_START + i}` }));
}

/** `unix:///run/berth/berth.sock` or a bare absolute path → the path. */
export function parseListenAddress(addr: string): string {
  if (addr.startsWith('unix://')) addr = addr.slice('unix://'.length);
  else if (/^[a-z]+:\/\//i.test(addr)) throw new Error(`unsupported listen address ${addr}: only unix:// sockets are served`);
  if (!addr.startsWith('/')) throw new Error(`listen address must be an absolute socket path: ${addr}`);
  return addr;
}

/** True when something accepts connections on the unix socket at `path`. */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(true), timeoutMs); // accepted but slow: someone is there
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Makes `path` ready to bind: its directory exists, and a socket file left by a dead process is
 * removed. A live one is refused: two services must not share a socket path.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o711 });
  const st = await fs.lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  if (await socketAnswers(path)) throw new Error(`another service is already listening on ${path}`);
  await fs.rm(path, { force: true });
}
