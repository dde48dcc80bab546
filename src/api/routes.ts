// Every route berth serves, in one table: the app registers it, openapi/ describes it.
import type { Route } from '../server/route.ts';
import { routes as compatContainersStats } from './compat/containers-stats.ts';
import { routes as compatEvents } from './compat/events.ts';
import { routes as compatContainersFs } from './compat/containers-fs.ts';
import { routes as compatContainersLogs } from './compat/containers-logs.ts';
import { routes as compatExec } from './compat/exec.ts';
import { routes as compatContainers } from './compat/containers.ts';
import { routes as compatImages } from './compat/images.ts';
import { routes as compatNetworks } from './compat/networks.ts';
import { routes as compatImagesArchive } from './compat/images-archive.ts';
import { routes as compatRegistry } from './compat/registry.ts';
import { routes as compatSystem } from './compat/system.ts';
import { routes as compatVolumes } from './compat/volumes.ts';
import { routes as libpodSystem } from './libpod/system.ts';

export const allRoutes: Route[] = [
  ...compatContainers,...compatSystem, ...compatImages, ...compatImagesArchive, ...compatRegistry, ...compatEvents, ...compatContainersFs, ...compatContainersStats, ...compatContainersLogs, ...compatExec, ...compatNetworks, ...compatVolumes, ...libpodSystem];
