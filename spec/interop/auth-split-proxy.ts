/**
 * Shared by the interop/auth-split-real specs: a loopback TCP proxy that
 * splits the client's "AUTH TLS\r\n" between its CR and its LF, as a
 * middlebox that cut the segment there would deliver it, and the client
 * options those specs use.
 */
import * as net from "node:net";
import { FTP_TLS, type RetryEvent, type RetryOptions } from "../../lib/index.js";
import type { RealServer } from "./servers.js";

/** How long the proxy holds the LF after the CR went. */
export const LF_DELAY_MS = 20;
/**
 * The client's timeout in these specs: proftpd's welcome alone took 30 to
 * 440 ms here on a busy machine, split line or not.
 */
export const TIMEOUT = 1000;
/** Backoffs short enough to keep each test near one timeout; attempts to spare for a slow welcome. */
export const RETRY: RetryOptions = { attempts: 3, minDelay: 10, maxDelay: 10 };

/**
 * A loopback TCP proxy to `target` that forwards both ways untouched, but
 * on the connections whose number (1 the first) is in `split`: there the
 * first "AUTH TLS\r\n" the client sends goes as "AUTH TLS\r", then the
 * rest LF_DELAY_MS later. Keeps what each client sent, as latin1.
 */
export class AuthSplitProxy {
  private readonly sockets = new Set<net.Socket>();
  /** What the client sent on each connection, in order. */
  readonly sent: string[] = [];
  /** When each connection's AUTH TLS line was first seen (Date.now()), by connection. */
  readonly authSeenAt: number[] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly split: ReadonlySet<number>,
  ) {}

  static async start(target: number, split: number[]): Promise<AuthSplitProxy> {
    const server = net.createServer();
    const proxy = new AuthSplitProxy(server, new Set(split));
    server.on("connection", (client) => proxy.forward(client, target));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get connections(): number {
    return this.sent.length;
  }

  /** Cuts every connection open now (a dropped network). */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private forward(client: net.Socket, target: number): void {
    const index = this.sent.push("") - 1;
    const upstream = net.connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    let split = this.split.has(index + 1);
    client.on("data", (chunk: Buffer) => {
      this.sent[index] += chunk.toString("latin1");
      const at = this.sent[index].indexOf("AUTH TLS\r\n");
      if (at >= 0) this.authSeenAt[index] ??= Date.now();
      if (!split || at < 0) return void upstream.write(chunk);
      split = false;
      const cut = chunk.length - (this.sent[index].length - (at + "AUTH TLS\r".length));
      upstream.write(chunk.subarray(0, cut));
      client.pause();
      setTimeout(() => {
        upstream.write(chunk.subarray(cut));
        client.resume();
      }, LF_DELAY_MS);
    });
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A client of `server` through `proxy`, and the 'retry' events it emits. */
export function splitClient(server: RealServer, proxy: AuthSplitProxy, retry?: RetryOptions): { ftp: FTP_TLS; retries: RetryEvent[] } {
  const ftp = new FTP_TLS({
    host: "127.0.0.1",
    port: proxy.port,
    user: server.user,
    password: server.password,
    timeout: TIMEOUT,
    retry,
    tls: { ca: server.ca },
  });
  const retries: RetryEvent[] = [];
  ftp.on("retry", (event) => retries.push(event));
  return { ftp, retries };
}

/** Checks that no login went in the clear on any connection: USER and PASS came only inside TLS. */
export function noLoginInClear(proxy: AuthSplitProxy | undefined): void {
  for (const sent of proxy?.sent ?? []) if (/USER |PASS /.test(sent)) throw new Error(`a login went in the clear: ${JSON.stringify(sent)}`);
}
