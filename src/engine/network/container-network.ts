// The network step of a container's life (owned by the networks work, issue 4): what create
// records, what init sets up before the OCI spec is written, what every end of a run tears down.
//
// Contract with lifecycle.ts:
// - planNetworks at create (no lock held): checks NetworkMode and NetworkingConfig (404 for a
//   network that doesn't exist, Docker's messages) and returns the record's NetworkSettings.
// - setupNetwork in init, under the container's lock, after the rootfs is mounted: makes the
//   network namespace, runs netavark, reserves published ports, and updates rec.NetworkSettings
//   (the caller writes the record). It must leave nothing behind when it throws.
// - teardownNetwork on every end (finish, failed init/start, remove): idempotent, and able to
//   undo a setup whose result was never recorded (a crash in between).
import type { EngineContext } from '../context.ts';
import type { ContainerConfig, ContainerRecord, HostConfig } from '../containers/types.ts';

/** What the etc files need to know of the container's networks. */
export interface EtcNetworkFacts {
  /** The container's addresses on its networks (for its own /etc/hosts line). */
  addresses: string[];
  /** Extra /etc/hosts lines (legacy links): "ip name alias…". */
  hostsLines: string[];
  /** Nameservers that replace the host's (aardvark-dns on user-defined networks). */
  nameservers?: string[];
  /** Search domains to add. */
  search?: string[];
  /** Whether the container's networks have IPv6. */
  ipv6: boolean;
  /** What `host-gateway` in ExtraHosts stands for. */
  hostGateway?: string;
}

export interface NetworkSetup {
  /** The network namespace for the OCI spec; undefined: runc makes a new one (none), or host/container modes. */
  netnsPath?: string;
  /** Host ports held for the container: passed to conmon, which keeps them while it lives. */
  reservedFds: number[];
  etc: EtcNetworkFacts;
  /** Closes this process's copies of reservedFds (after conmon has them, or on failure). */
  release(): void;
}

export async function planNetworks(
  _ctx: EngineContext,
  _input: { config: ContainerConfig; hostConfig: HostConfig; networking: ContainerRecord['NetworkingConfig'] },
): Promise<Record<string, unknown>> {
  return {};
}

export async function setupNetwork(_ctx: EngineContext, _rec: ContainerRecord): Promise<NetworkSetup> {
  return { reservedFds: [], etc: { addresses: [], hostsLines: [], ipv6: false }, release() {} };
}

export async function teardownNetwork(_ctx: EngineContext, _rec: ContainerRecord): Promise<void> {}
