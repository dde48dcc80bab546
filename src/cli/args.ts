// Command line and BERTH_* environment: flags win over the environment, which wins over defaults.
import { parseArgs } from 'node:util';
import { defaultRoot, defaultRunroot, defaultSocket } from '../config/paths.ts';
import type { ServeOptions } from '../server/serve.ts';

export interface Invocation {
  command: string | undefined;
  rest: string[];
  help: boolean;
  serve: ServeOptions;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export class UsageError extends Error {}

export function parseInvocation(argv: string[], env: NodeJS.ProcessEnv = process.env): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        listen: { type: 'string', multiple: true, short: 'H' },
        time: { type: 'string', short: 't' },
        timeout: { type: 'string' },
        root: { type: 'string' },
        runroot: { type: 'string' },
        'log-level': { type: 'string' },
        runtime: { type: 'string' },
        conmon: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const listen = v.listen ?? (env.BERTH_LISTEN ? env.BERTH_LISTEN.split(/[\s,]+/).filter(Boolean) : [`unix://${defaultSocket(env)}`]);
  const timeText = v.time ?? v.timeout ?? env.BERTH_TIME ?? '5';
  const timeSeconds = Number(timeText);
  if (!Number.isFinite(timeSeconds) || timeSeconds < 0) throw new UsageError(`--time must be a number of seconds ≥ 0, not "${timeText}"`);
  const logLevel = v['log-level'] ?? env.BERTH_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) throw new UsageError(`--log-level must be one of ${[...LOG_LEVELS].join(', ')}`);
  const [command, ...rest] = parsed.positionals;
  return {
    command: v.version ? 'version' : command,
    rest,
    help: v.help ?? false,
    serve: {
      listen,
      timeSeconds,
      root: v.root ?? env.BERTH_ROOT ?? defaultRoot(env),
      runroot: v.runroot ?? env.BERTH_RUNROOT ?? defaultRunroot(env),
      logLevel,
      runtime: v.runtime ?? env.BERTH_RUNTIME ?? 'runc',
      conmon: v.conmon ?? env.BERTH_CONMON ?? 'conmon',
    },
  };
}

export const HELP = `berth: a Docker-compatible container engine with no daemon

Usage: berth [flags] COMMAND

Commands:
  serve     Serve the Docker Engine and libpod APIs on a unix socket (socket-activated or not)
  version   Print berth's version
  autostart Start the containers whose restart policy is always/unless-stopped (at boot)
  cleanup   (run by conmon) record a container's exit, apply its restart policy

Flags (each also as an environment variable):
  --listen unix:///PATH   socket to listen on, repeatable     BERTH_LISTEN   (default ${'$'}{runroot}/berth.sock)
  --time SECONDS          exit after this long idle; 0 never  BERTH_TIME     (default 5)
  --root DIR              persistent store                    BERTH_ROOT     (default /var/lib/berth)
  --runroot DIR           runtime state (tmpfs)               BERTH_RUNROOT  (default /run/berth)
  --log-level LEVEL       trace|debug|info|warn|error         BERTH_LOG_LEVEL (default info)
  --runtime PATH          OCI runtime                         BERTH_RUNTIME  (default runc)
  --conmon PATH           container monitor                   BERTH_CONMON   (default conmon)
  -h, --help              this help

Environment only:
  BERTH_NETWORK_POOL      address pools for new networks, as dockerd's --default-address-pool:
                          "base=10.10.0.0/16,size=24 …" (default: Docker's 172.17-31.0.0/16, 192.168.0.0/16 in /20s)

When started by systemd socket activation (LISTEN_FDS), berth serves the passed sockets and
ignores --listen. Rootless, the defaults move under $XDG_DATA_HOME and $XDG_RUNTIME_DIR.
`;
