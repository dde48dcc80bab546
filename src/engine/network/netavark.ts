// The netavark adapter: its flags, its stdin (the container's networks and port mappings), its
// answer, and one lock around every call (netavark takes none itself, and two setups racing on
// the same bridge or firewall chains break each other).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { EngineContext } from '../context.ts';
import { SystemError } from '../errors.ts';
import { runProgram, ProgramFailed } from '../../sys/program.ts';
import { lockPath, withLock } from '../../store/lock.ts';
import type { NetavarkNetwork } from './network-store.ts';

export interface NetavarkPort {
  host_ip: string;
  container_port: number;
  host_port: number;
  range: number;
  protocol: string;
}

export interface NetavarkAttachment {
  static_ips: string[];
  /** a fixed MAC address for the interface (netavark makes one up otherwise) */
  static_mac?: string;
  aliases: string[];
  interface_name: string;
}

export interface NetavarkOptions {
  container_id: string;
  container_name: string;
  port_mappings: NetavarkPort[];
  networks: Record<string, NetavarkAttachment>;
  network_info: Record<string, NetavarkNetwork>;
}

export interface NetavarkStatus {
  dns_search_domains?: string[];
  dns_server_ips?: string[];
  interfaces?: Record<string, { mac_address: string; subnets?: Array<{ ipnet: string; gateway?: string }> }>;
}

const TIMEOUT_MS = 60_000;

function configDir(ctx: EngineContext): string {
  return join(ctx.paths.runroot, 'netavark');
}

async function run(ctx: EngineContext, command: 'setup' | 'teardown', netns: string, opts: NetavarkOptions): Promise<string> {
  const dir = configDir(ctx);
  await fs.mkdir(dir, { recursive: true });
  await fs.mkdir(ctx.paths.locks, { recursive: true });
  const args = ['--config', dir, '--rootless', 'false', '--aardvark-binary', ctx.programs.aardvark ?? '/usr/lib/podman/aardvark-dns', command, netns];
  return withLock(lockPath(ctx.paths.locks, 'netavark', 'run'), async () => {
    try {
      const { stdout } = await runProgram(ctx.programs.netavark ?? '/usr/lib/podman/netavark', args, { input: JSON.stringify(opts), timeoutMs: TIMEOUT_MS });
      return stdout;
    } catch (err) {
      if (err instanceof ProgramFailed) throw new SystemError(`netavark: ${netavarkMessage(err.stderr)}`, { cause: err });
      throw err;
    }
  });
}

/** netavark prints its error as JSON ({"error": "..."}) or plain text. */
function netavarkMessage(stderr: string): string {
  const text = stderr.trim();
  try {
    const j = JSON.parse(text) as { error?: string };
    if (j.error) return j.error;
  } catch {
    // plain
  }
  return text.split('\n').filter(Boolean).pop() ?? 'failed';
}

/** Sets up the given networks in the namespace; the status of each, by network name. */
export async function netavarkSetup(ctx: EngineContext, netns: string, opts: NetavarkOptions): Promise<Record<string, NetavarkStatus>> {
  const out = await run(ctx, 'setup', netns, opts);
  try {
    return JSON.parse(out) as Record<string, NetavarkStatus>;
  } catch {
    throw new SystemError(`netavark setup: unexpected answer: ${out.slice(0, 200)}`);
  }
}

export async function netavarkTeardown(ctx: EngineContext, netns: string, opts: NetavarkOptions): Promise<void> {
  await run(ctx, 'teardown', netns, opts);
}
