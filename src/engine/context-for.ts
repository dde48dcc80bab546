// The engine context for one berth process, from its global options: the store's paths, the
// programs it drives, and how conmon should run berth again for a container's cleanup.
import { storePaths } from '../config/paths.ts';
import { findProgram } from '../config/programs.ts';
import type { EngineContext } from './context.ts';

export interface GlobalOptions {
  root: string;
  runroot: string;
  runtime: string;
  conmon: string;
}

export function engineContext(opts: GlobalOptions): EngineContext {
  const runc = findProgram(opts.runtime);
  const conmon = findProgram(opts.conmon);
  return {
    paths: storePaths(opts.root, opts.runroot),
    programs: { runc, conmon, init: findProgram('catatonit'), netavark: findProgram('netavark'), aardvark: findProgram('aardvark-dns') },
    networkPools: process.env['BERTH_NETWORK_POOL'] || undefined,
    // absolute paths, so the cleanup finds the same store and programs whatever its environment
    selfCommand: [process.execPath, process.argv[1]!, '--root', opts.root, '--runroot', opts.runroot, '--runtime', runc, '--conmon', conmon],
  };
}
