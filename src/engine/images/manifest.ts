// Manifests as registries serve them: Docker schema2 and OCI image manifests, Docker manifest
// lists and OCI indexes (choose one platform), and schema1 (refused: long deprecated).
import { InvalidArgument, NotFound } from '../errors.ts';
import { goArch } from '../system/host.ts';

export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** Reads a manifest body; `mediaType` is the registry's Content-Type when the body lacks one. */
export function parseManifest(body: Buffer | string, mediaType?: string): ImageManifest | ImageIndex {
  let doc: { schemaVersion?: number; mediaType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] };
  try {
    doc = JSON.parse(body.toString());
  } catch {
    throw new InvalidArgument('the registry sent a manifest that is not JSON');
  }
  const type = doc.mediaType || mediaType || '';
  if (doc.schemaVersion === 1 || type === MediaType.dockerSchema1 || type === MediaType.dockerSchema1Signed) {
    throw new InvalidArgument('unsupported manifest format: Docker Image manifest version 2, schema 1 has been removed; push the image again with a current client');
  }
  if (Array.isArray(doc.manifests) && (type === MediaType.dockerList || type === MediaType.ociIndex || !type)) {
    return { kind: 'index', mediaType: type || MediaType.ociIndex, manifests: doc.manifests };
  }
  if (doc.config && Array.isArray(doc.layers)) {
    return { kind: 'manifest', mediaType: type || MediaType.ociManifest, config: doc.config, layers: doc.layers };
  }
  throw new InvalidArgument(`unsupported manifest media type ${JSON.stringify(type)}`);
}

/** arm64 images default to variant v8, as containerd's platform matcher has it. */
function normalizeVariant(p: Platform): string {
  if (p.architecture === 'arm64') return !p.variant || p.variant === 'v8' ? 'v8' : p.variant;
  return p.variant ?? '';
}

/** `linux/arm64/v8` → a platform; empty means this host's. */
export function parsePlatform(s: string | undefined): Platform {
  if (!s) return { os: 'linux', architecture: goArch() };
  const [os, architecture, variant] = s.toLowerCase().split('/');
  if (!os || !architecture) throw new InvalidArgument(`"${s}": unknown operating system or architecture: invalid argument`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The index entry for `want`: same os and architecture, and variant when either names one. */
export function choosePlatform(index: ImageIndex, want: Platform): Descriptor {
  const matches = index.manifests.filter((d) => {
    const p = d.platform;
    if (!p || p.os !== want.os || p.architecture !== want.architecture) return false;
    if (!want.variant && want.architecture !== 'arm64') return true;
    return normalizeVariant(p) === normalizeVariant(want);
  });
  if (matches.length === 0) {
    throw new NotFound(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
  }
  return matches[0]!;
}
