// Websocket streams (GET /containers/{id}/attach/ws): the request, already routed through
// fastify by the upgrade dispatcher (src/server/hijack.ts), is handed to `ws` with its socket.
// What the peer sends arrives as a byte stream (`input`), like a hijacked connection's stdin.
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidArgument } from '../engine/errors.ts';
import { lazyRequire } from '../sys/lazy-require.ts';

type WsModule = typeof import('ws');
const wsModule = lazyRequire<WsModule>('ws');

export interface WebsocketStream {
  input: Readable;
  send(data: Buffer): void;
  close(): void;
}

export async function acceptWebsocket(request: FastifyRequest, reply: FastifyReply): Promise<WebsocketStream> {
  const req = request.raw;
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw new InvalidArgument('this endpoint needs a websocket upgrade request');
  const { WebSocketServer } = wsModule();
  const server = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  reply.hijack();
  const ws = await new Promise<import('ws').WebSocket>((resolve) => server.handleUpgrade(req, req.socket, Buffer.alloc(0), resolve));
  const input = new PassThrough();
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => input.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)));
  ws.on('close', () => input.end());
  ws.on('error', () => input.end());
  return {
    input,
    send: (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data);
    },
    close: () => ws.close(),
  };
}
