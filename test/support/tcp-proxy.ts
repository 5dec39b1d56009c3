/**
 * A local TCP proxy in front of a test server, for fault injection: it passes traffic, resets
 * every current connection, refuses new ones (accepted and reset at once), black-holes traffic
 * (bytes accepted, none forwarded, no reply), and resumes. The driver connects to `uri` as to the
 * server itself.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What the proxy does with traffic. */
export type ProxyMode = 'pass' | 'refuse' | 'black-hole';

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes were dropped on this link: its stream is broken, so it is reset on resume. */
  dropped: boolean;
  /** Requests still reach the server, its replies are lost (`loseReplies`). */
  repliesLost?: boolean;
}

export class TcpProxy {
  readonly #server: Server;
  readonly #target: { readonly host: string; readonly port: number };
  readonly #links = new Set<Link>();
  /** The server URI's `user:password@`, as written (percent-encoded), so that the proxy's URI logs in too. */
  #userInfo = '';
  #mode: ProxyMode = 'pass';
  /** Connections reset by `reset()` and `refuse` so far. */
  resets = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Starts a proxy on a free local port in front of the server of `serverUri` (one host). */
  static async start(serverUri: string): Promise<TcpProxy> {
    const { hostname, port } = new URL(serverUri);
    const proxy = new TcpProxy({ host: hostname, port: Number(port || 27017) });
    proxy.#userInfo = /^mongodb:\/\/([^/@]*@)/.exec(serverUri)?.[1] ?? '';
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening');
    return address.port;
  }

  /** A connection string to the server through the proxy (one host, no discovery past it), with the server URI's credentials. */
  get uri(): string {
    return `mongodb://${this.#userInfo}127.0.0.1:${this.port}/?directConnection=true`;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Current connections. */
  get connections(): number {
    return this.#links.size;
  }

  /** Resets every current connection (TCP RST to the client, the upstream closed); returns how many. */
  reset(): number {
    const count = this.#links.size;
    for (const link of [...this.#links]) this.#drop(link);
    this.resets += count;
    return count;
  }

  /** New connections are accepted and reset at once; current ones are left alone. */
  refuse(): void {
    this.#mode = 'refuse';
  }

  /** Current and new connections: bytes are accepted and dropped, nothing is answered. */
  blackHole(): void {
    this.#mode = 'black-hole';
  }

  /** Traffic passes again; connections whose stream lost bytes while black-holed are reset. */
  resume(): void {
    for (const link of [...this.#links]) if (link.dropped) this.#drop(link);
    this.#mode = 'pass';
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /**
   * The connections open now keep sending to the server, whose replies on them are lost: a
   * request the server carries out while its caller never hears of it. New connections pass.
   */
  loseReplies(): void {
    for (const link of this.#links) link.repliesLost = true;
  }

  #accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.#mode === 'refuse') {
      this.resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(this.#target);
    upstream.on('error', () => undefined);
    const link: Link = { client, upstream, dropped: this.#mode === 'black-hole' };
    this.#links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (this.#mode === 'black-hole' || link.dropped) link.dropped = true;
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (link.repliesLost) return;
      if (this.#mode === 'black-hole' || link.dropped) link.dropped = true;
      else client.write(chunk);
    });
    const close = (): void => this.#drop(link);
    client.on('close', close);
    upstream.on('close', close);
  }

  #drop(link: Link): void {
    if (!this.#links.delete(link)) return;
    if (!link.client.destroyed) link.client.resetAndDestroy();
    link.upstream.destroy();
  }
}
