// What every engine call needs to know: where the store is and which programs to run.
import type { StorePaths } from '../config/paths.ts';

export interface Programs {
  /** The default OCI runtime's executable (name looked up in PATH, or a path). */
  runc: string;
  conmon: string;
}

export interface EngineContext {
  paths: StorePaths;
  programs: Programs;
  /**
   * Files to read the registries configuration from, in order (later ones refine earlier);
   * when unset, the system's (config/registries.ts), found when first needed.
   */
  registriesConf?: string[];
}
