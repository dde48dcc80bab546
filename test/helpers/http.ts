// A small HTTP client over a unix socket for tests: what a Docker client sends, and the raw answer.
import { request } from 'node:http';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = any>(): T;
}

export function call(
  socketPath: string,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; agent?: any } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers: Record<string, string> = { Host: 'docker', ...opts.headers };
    if (payload !== undefined) {
      headers['Content-Length'] = String(Buffer.byteLength(payload));
      headers['Content-Type'] ??= 'application/json';
    }
    const req = request({ socketPath, method, path, headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
