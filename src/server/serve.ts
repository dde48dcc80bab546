// `berth serve`: prepare the store, build the app, listen on the activated sockets or the
// --listen paths, and exit 0 when idle for --time seconds or on SIGTERM/SIGINT.
import { promises as fs } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { allRoutes } from '../api/routes.ts';
import { engineContext } from '../engine/context-for.ts';
import { storePaths } from '../config/paths.ts';
import { ensureLayout } from '../store/layout.ts';
import { buildApp } from './app.ts';
import { dispatchUpgrade } from './hijack.ts';
import { IdleTracker } from './idle.ts';
import { parseListenAddress, prepareSocketPath, takeActivatedSockets } from './listen.ts';

export interface ServeOptions {
  listen: string[];
  timeSeconds: number;
  root: string;
  runroot: string;
  logLevel: string;
  runtime: string;
  conmon: string;
}

/** How long work in flight may take to finish once the service stops accepting. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function serve(opts: ServeOptions): Promise<void> {
  // Taken first, so the variables are gone before anything could spawn a child.
  const activated = takeActivatedSockets();
  process.umask(0o022);

  await ensureLayout(storePaths(opts.root, opts.runroot));
  const engine = engineContext(opts);
  const app = await buildApp({
    engine,
    routes: allRoutes,
    logLevel: opts.logLevel,
    keepAliveMs: opts.timeSeconds > 0 ? opts.timeSeconds * 1000 : undefined,
  });
  const log = app.fastify.log;

  const servers: Server[] = [];
  const ownedPaths: Array<{ path: string; ino: number }> = [];
  let closing = false;

  const shutdown = async (reason: string, graceMs: number) => {
    if (closing) return;
    closing = true;
    log.info({ reason }, 'shutting down');
    for (const s of servers) {
      s.close();
      s.closeIdleConnections();
    }
    const deadline = Date.now() + graceMs;
    while (tracker.activeCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const { path, ino } of ownedPaths) {
      const st = await fs.lstat(path).catch(() => undefined);
      if (st?.ino === ino) await fs.rm(path, { force: true });
    }
    await app.fastify.close().catch(() => {});
    process.exit(0);
  };

  const tracker = new IdleTracker(opts.timeSeconds * 1000, () => void shutdown('idle', SHUTDOWN_GRACE_MS));
  engine.holdBusy = () => tracker.hold();

  const listenOn = async (server: Server, target: { fd: number } | { path: string }) => {
    tracker.watch(server);
    server.on('upgrade', (req, socket, head) => dispatchUpgrade(app.handler, req, socket as Socket, head));
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(target, () => {
        server.off('error', reject);
        resolve();
      });
    });
  };

  if (activated.length > 0) {
    for (const [i, sock] of activated.entries()) {
      await listenOn(i === 0 ? app.fastify.server : app.newServer(), { fd: sock.fd });
    }
    log.info({ sockets: activated.map((s) => s.name) }, 'serving on activated sockets');
  } else {
    const addrs = opts.listen.map(parseListenAddress);
    for (const [i, path] of addrs.entries()) {
      await prepareSocketPath(path);
      const old = process.umask(0o117); // the socket is born 0660
      try {
        await listenOn(i === 0 ? app.fastify.server : app.newServer(), { path });
      } finally {
        process.umask(old);
      }
      await fs.chmod(path, 0o660);
      ownedPaths.push({ path, ino: (await fs.lstat(path)).ino });
    }
    log.info({ sockets: addrs }, 'listening');
  }

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(0);
    void shutdown(sig, SHUTDOWN_GRACE_MS);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  tracker.start();

  // What a killed pull, load, import, create, remove or volume create left half-written goes now, in the background, once the
  // first requests are answered; the idle exit waits for it.
  const release = tracker.hold();
  setTimeout(() => {
    import('../engine/images/image-store.ts')
      .then(({ ImageStore }) => new ImageStore(engine).sweep())
      .then(() => import('../engine/containers/lifecycle.ts'))
      .then(({ sweepContainers }) => sweepContainers(engine))
      .then(() => import('../engine/volumes/operations.ts'))
      .then(({ sweepVolumes }) => sweepVolumes(engine))
      .catch((err: unknown) => log.warn({ err }, 'sweeping temp files failed'))
      .finally(release);
  }, 100);
}
