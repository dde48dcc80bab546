// Claims on what every berth store on the host shares: bridge interface names and subnets. A
// store's network definition names them long before its bridge comes up (at the first container),
// so neither the host's interfaces nor its routes show them to a second store (another --root,
// as parallel test suites have) in the meantime. A claim is a file under /run/berth-claims/,
// made with O_EXCL, naming the definition that holds it; a claim whose definition no longer
// names the same thing is stale and taken over.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '../../store/atomic.ts';

export const CLAIMS_DIR = '/run/berth-claims';

export type ClaimKind = 'interface' | 'subnet';

interface ClaimFile {
  /** The network definition file that holds the claim. */
  def: string;
}

function claimPath(kind: ClaimKind, key: string): string {
  return join(CLAIMS_DIR, `${kind}-${key.replace(/\//g, '_')}`);
}

/** Whether the definition at `defFile` still names `key` as its interface or one of its subnets. */
async function stillHeld(defFile: string, kind: ClaimKind, key: string): Promise<boolean> {
  const def = await readJson<{ network_interface?: string; subnets?: Array<{ subnet: string }> }>(defFile).catch(() => undefined);
  if (!def) return false;
  return kind === 'interface' ? def.network_interface === key : (def.subnets ?? []).some((s) => s.subnet === key);
}

/**
 * Claims `key` for the definition at `defFile`; false when another live definition holds it.
 * The caller writes the definition after its claims succeed (until then a racing store sees a
 * claim by a file that doesn't exist yet: it waits for a fresh claim to prove itself).
 */
export async function claim(kind: ClaimKind, key: string, defFile: string): Promise<boolean> {
  await fs.mkdir(CLAIMS_DIR, { recursive: true, mode: 0o700 });
  const path = claimPath(kind, key);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(path, JSON.stringify({ def: defFile } satisfies ClaimFile), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await readJson<ClaimFile>(path).catch(() => undefined);
    if (held?.def === defFile) return true;
    if (held) {
      if (await stillHeld(held.def, kind, key)) return false;
      // a claim younger than a few seconds may belong to a definition about to be written
      const st = await fs.stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs < 5000) return false;
    }
    await fs.rm(path, { force: true });
  }
  return false;
}

/** Gives up a claim if `defFile` holds it. */
export async function unclaim(kind: ClaimKind, key: string, defFile: string): Promise<void> {
  const path = claimPath(kind, key);
  const held = await readJson<ClaimFile>(path).catch(() => undefined);
  if (held?.def === defFile) await fs.rm(path, { force: true });
}
