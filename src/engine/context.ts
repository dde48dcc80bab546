// What every engine call needs to know: where the store is and which programs to run.
import type { StorePaths } from '../config/paths.ts';

export interface Programs {
  /** The default OCI runtime's executable (name looked up in PATH, or a path). */
  runc: string;
  conmon: string;
  /** The init run as pid 1 with --init (catatonit). */
  init?: string;
  /** netavark and aardvark-dns (the networks' setup and their DNS server). */
  netavark?: string;
  aardvark?: string;
}

export interface EngineContext {
  paths: StorePaths;
  programs: Programs;
  /**
   * Files to read the registries configuration from, in order (later ones refine earlier);
   * when unset, the system's (config/registries.ts), found when first needed.
   */
  registriesConf?: string[];
  /**
   * How to run this berth again with the same store and programs (node, script, global flags):
   * conmon runs it as `… cleanup <id>` when a container exits.
   */
  selfCommand?: string[];
  /** Address pools for new networks, as dockerd's --default-address-pool (`base=CIDR,size=N`, space separated); Docker's defaults when unset. */
  networkPools?: string;
  /**
   * Marks the process busy until the returned function is called: work an API call leaves
   * running after it answers (the service's idle exit waits for it). Unset outside the service.
   */
  holdBusy?: () => () => void;
}
