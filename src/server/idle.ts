// Idle tracking: the service exits after `timeout` ms with nothing to do. Busy means a request
// in flight (until its response is closed, so streaming responses count), a hijacked socket,
// a connection accepted whose first request has not arrived yet, or any work that holds a token.
// An idle keep-alive connection between requests does not count: a pooled client connection
// would otherwise keep the service alive for ever. It is closed when the service exits.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export type Release = () => void;

export class IdleTracker {
  private busy = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pendingFirstRequest = new WeakMap<Socket, Release>();

  /** `timeoutMs` 0 means never idle out. */
  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {}

  /** Starts the countdown if nothing is busy (call once the listeners are up). */
  start(): void {
    this.arm();
  }

  get activeCount(): number {
    return this.busy;
  }

  /** Marks the service busy until the returned function is called (idempotent). */
  hold(): Release {
    this.busy++;
    this.disarm();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.busy--;
      if (this.busy === 0) this.arm();
    };
  }

  /** Counts the server's connections, requests and upgraded sockets. */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      const release = this.hold();
      this.pendingFirstRequest.set(socket, release);
      socket.once('close', release);
    });
    // prepend: count the request before any handler can start async work for it.
    server.prependListener('request', (req, res) => {
      this.firstRequestArrived(req.socket);
      const release = this.hold();
      res.once('close', release);
    });
    server.prependListener('upgrade', (req, socket: Socket) => {
      this.firstRequestArrived(req.socket);
      const release = this.hold();
      socket.once('close', release);
    });
  }

  private firstRequestArrived(socket: Socket): void {
    const release = this.pendingFirstRequest.get(socket);
    if (release) {
      this.pendingFirstRequest.delete(socket);
      release();
    }
  }

  private arm(): void {
    if (this.timeoutMs <= 0 || this.timer || this.busy > 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy === 0) this.onIdle();
    }, this.timeoutMs);
  }

  private disarm(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
