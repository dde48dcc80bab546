// Streaming answers (wait, logs, events): the status and headers go out at once, before the
// body is known, because clients block on them (the Go client's wait, followers of quiet logs
// and events). The handler then writes the body itself on the raw response.
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export function openStream(reply: FastifyReply, contentType: string): ServerResponse {
  reply.hijack();
  const res: ServerResponse = reply.raw;
  // the headers fastify's hooks set (API-Version, Server…) are kept
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(200, { 'content-type': contentType });
  res.flushHeaders();
  return res;
}
