// berth's entry point: parse the command line, run one command.
import { BERTH_BUILD_TIME, BERTH_COMMIT, BERTH_VERSION } from '../version.ts';
import { HELP, parseInvocation, UsageError } from './args.ts';

async function main(argv: string[]): Promise<number> {
  let inv;
  try {
    inv = parseInvocation(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`berth: ${err.message}\nRun 'berth --help' for usage.\n`);
      return 125;
    }
    throw err;
  }
  if (inv.help || inv.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  switch (inv.command) {
    case 'version':
      process.stdout.write(
        `berth version ${BERTH_VERSION}\ncommit: ${BERTH_COMMIT}\nbuilt: ${BERTH_BUILD_TIME || 'unknown'}\nnode: ${process.version}\n`,
      );
      return 0;
    case 'serve': {
      const { serve } = await import('../server/serve.ts');
      await serve(inv.serve);
      return -1; // keeps running; serve exits the process itself
    }
    case 'cleanup': {
      // run by conmon when a container's process exits (its --exit-command)
      // (`cleanup <container id> <exec id>` for an exec session)
      const [id, execId] = inv.rest;
      if (!id) throw new UsageError('cleanup needs a container id');
      const { engineContext } = await import('../engine/context-for.ts');
      if (execId) {
        const { cleanupExec } = await import('../engine/containers/exec.ts');
        await cleanupExec(engineContext(inv.serve), execId);
        return 0;
      }
      const { cleanupAfterExit } = await import('../engine/containers/lifecycle.ts');
      await cleanupAfterExit(engineContext(inv.serve), id);
      return 0;
    }
    case 'autostart': {
      // berth-restart.service at boot: containers with restart policy always / unless-stopped
      const { engineContext } = await import('../engine/context-for.ts');
      const { autostartContainers } = await import('../engine/containers/lifecycle.ts');
      const { ensureLayout } = await import('../store/layout.ts');
      const ctx = engineContext(inv.serve);
      await ensureLayout(ctx.paths);
      let failed = 0;
      for (const r of await autostartContainers(ctx)) {
        if (r.error) failed++;
        process.stdout.write(r.error ? `${r.id}: ${r.error}\n` : `${r.id}\n`);
      }
      return failed ? 1 : 0;
    }
    case undefined:
      process.stdout.write(HELP);
      return 125;
    default:
      process.stderr.write(`berth: unknown command "${inv.command}"\nRun 'berth --help' for usage.\n`);
      return 125;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`berth: ${err.message}\n`);
    process.exit(1);
  },
);
