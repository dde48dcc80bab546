// Hijacked streams for attach and exec: the HTTP connection becomes a raw byte stream in both
// directions. Docker clients send `Connection: Upgrade` + `Upgrade: tcp` and require a 101.
//
// Node hands an Upgrade request to the server's 'upgrade' event with the socket detached from
// its HTTP parser, so bytes the client sends after the request (stdin) are never parsed as
// HTTP. The request body (exec start's JSON) is read here by Content-Length, and the request
// is then routed through fastify like any other, so versions, validation and errors behave
// the same. A route that streams calls `hijack()`; any other answer closes the connection.
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Bodies of upgrade requests are small JSON documents; refuse anything bigger. */
const MAX_UPGRADE_BODY = 1 << 20;

export function dispatchUpgrade(handler: RequestHandler, req: IncomingMessage, socket: Socket, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_UPGRADE_BODY || req.headers['transfer-encoding']) {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"message":"an upgrade request needs a Content-Length body of at most 1 MiB"}\n');
    return;
  }
  readExactly(socket, head, length, (body) => {
    const msg = new IncomingMessage(socket);
    msg.method = req.method;
    msg.url = req.url;
    msg.headers = req.headers;
    msg.rawHeaders = req.rawHeaders;
    msg.httpVersion = req.httpVersion;
    msg.httpVersionMajor = req.httpVersionMajor;
    msg.httpVersionMinor = req.httpVersionMinor;
    // IncomingMessage._read would resume the socket, and stdin bytes would flow to no one.
    msg._read = () => {};
    if (body.length) msg.push(body);
    msg.push(null);
    msg.complete = true;
    const res = new ServerResponse(msg);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.on('finish', () => {
      res.detachSocket(socket);
      socket.end();
    });
    handler(msg, res);
  });
}

/** Collects `length` body bytes (some may already be in `head`), puts back any excess. */
function readExactly(socket: Socket, head: Buffer, length: number, done: (body: Buffer) => void): void {
  let buf = head;
  const finish = () => {
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    if (buf.length > length) socket.unshift(buf.subarray(length));
    done(buf.subarray(0, length));
  };
  const onReadable = () => {
    let chunk: Buffer | null;
    while (buf.length < length && (chunk = socket.read() as Buffer | null) !== null) buf = Buffer.concat([buf, chunk]);
    if (buf.length >= length) finish();
  };
  const onEnd = () => socket.destroy();
  if (buf.length >= length) return finish();
  socket.on('readable', onReadable);
  socket.once('end', onEnd);
}

export interface HijackedStream {
  /** What the client sends (stdin); ends when the client half-closes. */
  input: Readable;
  /** What the client receives. */
  output: Writable;
  /** True when the client asked for an upgrade and got a 101. */
  upgraded: boolean;
  /** Ends the stream: the client sees EOF. */
  close(): void;
}

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/**
 * Takes the connection over from fastify and answers as Docker does: `101 UPGRADED` when the
 * client asked to upgrade, else `200 OK` followed by the raw stream (old clients).
 */
export function hijack(request: FastifyRequest, reply: FastifyReply, contentType: string): HijackedStream {
  reply.hijack();
  const socket = request.raw.socket as Duplex & Socket;
  const upgraded = /\bupgrade\b/i.test(String(request.headers.connection ?? '')) && request.headers.upgrade !== undefined;
  const head = upgraded
    ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
    : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nConnection: close\r\n\r\n`;
  socket.setTimeout(0);
  socket.write(head);
  return {
    input: upgraded ? socket : request.raw,
    output: socket,
    upgraded,
    close: () => {
      if (!socket.destroyed) socket.end();
    },
  };
}
