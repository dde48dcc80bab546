// Image names hold slashes (`127.0.0.1:5000/library/busybox`), and Docker's router takes them
// whole in paths such as `/images/{name}/json`. Before routing, the slashes of such a name are
// percent-encoded, so that the route's `{name}` segment holds all of it (the router decodes it).
interface NamedPath {
  prefix: string;
  /** what may follow the name */
  suffixes: string[];
  /** DELETE `<prefix>{name}`: the name is the whole rest */
  deleteWhole?: boolean;
}

const NAMED_PATHS: NamedPath[] = [
  { prefix: '/images/', suffixes: ['/json', '/history', '/tag', '/push', '/get'], deleteWhole: true },
  { prefix: '/distribution/', suffixes: ['/json'] },
  { prefix: '/libpod/images/', suffixes: ['/json', '/history', '/tag', '/untag', '/push', '/get', '/exists', '/tree', '/changes'], deleteWhole: true },
];

export function encodeNameSlashes(url: string, method: string | undefined): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  for (const np of NAMED_PATHS) {
    if (!path.startsWith(np.prefix)) continue;
    const rest = path.slice(np.prefix.length).replace(/\/+$/, '');
    for (const suffix of np.suffixes) {
      if (rest.endsWith(suffix) && rest.length > suffix.length) {
        const name = rest.slice(0, -suffix.length);
        if (name.includes('/')) return np.prefix + name.replace(/\//g, '%2F') + suffix + query;
      }
    }
    if (np.deleteWhole && method === 'DELETE' && rest.includes('/')) return np.prefix + rest.replace(/\//g, '%2F') + query;
    return url;
  }
  return url;
}
