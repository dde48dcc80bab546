// Where berth keeps things. Root mode uses system paths; rootless moves them under the XDG dirs.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (isRoot()) return '/var/lib/berth';
  return join(env.XDG_DATA_HOME || join(homedir(), '.local/share'), 'berth');
}

export function defaultRunroot(env: NodeJS.ProcessEnv = process.env): string {
  if (isRoot()) return '/run/berth';
  return join(env.XDG_RUNTIME_DIR || `/run/user/${process.getuid?.()}`, 'berth');
}

export function defaultSocket(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultRunroot(env), 'berth.sock');
}

/** The store's layout under --root and --runroot; see docs/layout.md. */
export interface StorePaths {
  root: string;
  runroot: string;
  images: string;
  layers: string;
  containers: string;
  volumes: string;
  networks: string;
  events: string;
  /** The engine's stable id (Docker's `ID` in /info). */
  engineId: string;
  runContainers: string;
  locks: string;
}

export function storePaths(root: string, runroot: string): StorePaths {
  return {
    root,
    runroot,
    images: join(root, 'images'),
    layers: join(root, 'layers'),
    containers: join(root, 'containers'),
    volumes: join(root, 'volumes'),
    networks: join(root, 'networks'),
    events: join(root, 'events.jsonl'),
    engineId: join(root, 'engine-id'),
    runContainers: join(runroot, 'containers'),
    locks: join(runroot, 'locks'),
  };
}
