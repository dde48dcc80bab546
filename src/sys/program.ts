// The one way berth runs an external program: spawn without a shell, a timeout, stdout and
// stderr captured, and failures as typed errors that name the program and say what it said.
// Each program (runc, conmon, netavark, …) has an adapter module that owns its flags and
// parses its output; nothing else spawns.
import { SystemError } from '../engine/errors.ts';
import { lazyRequire } from './lazy-require.ts';

export interface RunOptions {
  timeoutMs?: number;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class ProgramNotFound extends SystemError {
  constructor(readonly program: string) {
    super(`${program}: executable file not found in $PATH`);
  }
}

export class ProgramTimedOut extends SystemError {
  constructor(readonly program: string, readonly timeoutMs: number) {
    super(`${program} did not finish within ${timeoutMs / 1000}s`);
  }
}

export class ProgramFailed extends SystemError {
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with status ${exitCode}`;
    const said = stderr.trim();
    super(`${program} ${args[0] ?? ''} ${how}${said ? `: ${said}` : ''}`.replace(/\s+/g, ' ').trim());
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Output beyond this is dropped: no adapter needs more, and a runaway program can't fill memory. */
const MAX_OUTPUT = 16 << 20;

// child_process loads on first use: a cold start that runs no program doesn't pay for it.
const childProcess = lazyRequire<typeof import('node:child_process')>('node:child_process');

export function runProgram(program: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { spawn } = childProcess();
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      if ((outLen += d.length) <= MAX_OUTPUT) out.push(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      if ((errLen += d.length) <= MAX_OUTPUT) err.push(d);
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // the program may exit without reading it
      child.stdin!.end(opts.input);
    }
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new ProgramNotFound(program) : new SystemError(`${program}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) return reject(new ProgramTimedOut(program, timeoutMs));
      if (code !== 0) return reject(new ProgramFailed(program, args, code, signal, stderr));
      resolve({ stdout, stderr });
    });
  });
}
