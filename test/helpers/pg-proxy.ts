// A TCP proxy in front of the shared test cluster, which a test can cut and resume: cut, every
// connection through it ends at once (as when Postgres dies) and new ones are refused (as while it
// is down); resumed, it forwards again on the same port. Cheaper than a cluster of its own, and
// the shared cluster itself is never touched.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export class PgProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {}

  /** Forwards 127.0.0.1:<a free port> to the Postgres of `url`. */
  static async start(url: string): Promise<PgProxy> {
    const { hostname, port } = new URL(url);
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const free = (probe.address() as { port: number }).port;
    probe.close();
    await once(probe, 'close');
    const proxy = new PgProxy({ host: hostname, port: Number(port || 5432) }, free);
    await proxy.resume();
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Postgres is gone: open connections end, new ones are refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
  }

  close(): Promise<void> {
    return this.cut();
  }
}
