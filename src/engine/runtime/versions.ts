// Version reports of the programs berth drives. Each adapter owns its program's output format.
import { runProgram } from '../../sys/program.ts';

export interface ProgramVersion {
  version: string;
  commit: string;
  /** Extra lines (`spec: 1.0.2-dev`, `libseccomp: 2.5.4`) as key → value. */
  details: Record<string, string>;
}

/**
 * Parses `<name> version X` followed by `key: value` lines, the form runc, crun and conmon
 * print for `--version`.
 */
export function parseVersionOutput(output: string): ProgramVersion {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const first = lines[0] ?? '';
  const m = /\bversion:?\s+(\S+)/i.exec(first);
  const details: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const kv = /^([\w .-]+?):\s*(.*)$/.exec(line);
    if (kv) details[kv[1]!.toLowerCase()] = kv[2]!;
  }
  return { version: m?.[1] ?? first, commit: details['commit'] ?? '', details };
}

const VERSION_TIMEOUT_MS = 5_000;

export async function runcVersion(runc: string): Promise<ProgramVersion> {
  const { stdout } = await runProgram(runc, ['--version'], { timeoutMs: VERSION_TIMEOUT_MS });
  return parseVersionOutput(stdout);
}

export async function conmonVersion(conmon: string): Promise<ProgramVersion> {
  const { stdout } = await runProgram(conmon, ['--version'], { timeoutMs: VERSION_TIMEOUT_MS });
  return parseVersionOutput(stdout);
}
