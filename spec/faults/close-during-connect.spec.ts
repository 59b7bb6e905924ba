/**
 * A client closed while its control connection's TCP connect is still in
 * progress (close(), a pool or a connection lease giving it up, a retry
 * stopped) destroys the socket being connected there and then. Before, the
 * socket was destroyed only once its connect completed: until then a
 * connection attempt nobody owned went on, and would land on the server,
 * after a connection lease had been handed back, as soon as the server
 * took it. The port here never completes a handshake (a full backlog), so
 * the connect stays in progress for as long as the socket lives; the
 * kernel's socket table (/proc/net/tcp) shows whether it does. (Before,
 * `ready` did not settle either until the connect did: with `timeout: 0`,
 * for as long as the kernel kept trying.)
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import net from "node:net";
import { FTP, FtpClosedError } from "../../lib/index.js";
import { HangingListener } from "../modes/hanging-listener.js";

/** The local ports of this machine's IPv4 sockets connected, or connecting, to 127.0.0.1:`port`. */
function socketsTo(port: number): Set<number> {
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const found = new Set<number>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const [, local, rem] = line.trim().split(/\s+/);
    if (rem === remote) found.add(parseInt(local.split(":")[1], 16));
  }
  return found;
}

/** Resolves once a socket to `port` that was not among `before` shows up; its local port. */
async function newSocketTo(port: number, before: Set<number>): Promise<number> {
  for (;;) {
    const fresh = [...socketsTo(port)].filter((local) => !before.has(local));
    if (fresh.length === 1) return fresh[0];
    expect(fresh.length, "one new socket at most").to.be.at.most(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("faults: close() while the control connection's TCP connect is in progress", () => {
  let listener: HangingListener;
  beforeEach(async () => {
    listener = await HangingListener.start();
  });
  afterEach(() => listener.close());

  for (const [what, extra] of [
    ["a plain client", {}],
    ["a client with retry", { retry: { attempts: 3 } }],
  ] as const) {
    it(`${what}: the socket being connected is destroyed at once, ready rejecting with FtpClosedError`, async () => {
      const before = socketsTo(listener.port);
      // No deadline: only close() ends this connect.
      const ftp = new FTP({ host: "127.0.0.1", port: listener.port, timeout: 0, ...extra });
      const ready = ftp.ready.then(
        () => undefined,
        (error: unknown) => error,
      );
      const local = await newSocketTo(listener.port, before);
      ftp.close();
      expect(socketsTo(listener.port).has(local), "the socket is gone from the kernel's table").to.equal(false);
      expect(await ready).to.be.instanceOf(FtpClosedError);
    });
  }

  it("a socket from createConnection, still connecting, is destroyed at once", async () => {
    const before = socketsTo(listener.port);
    let made: net.Socket | undefined;
    const ftp = new FTP({
      host: "127.0.0.1",
      port: listener.port,
      timeout: 0,
      createConnection: ({ host, port }) => (made = net.connect({ host, port })),
    });
    const ready = ftp.ready.then(
      () => undefined,
      (error: unknown) => error,
    );
    const local = await newSocketTo(listener.port, before);
    expect(made?.connecting).to.equal(true);
    ftp.close();
    expect(made?.destroyed).to.equal(true);
    expect(socketsTo(listener.port).has(local)).to.equal(false);
    expect(await ready).to.be.instanceOf(FtpClosedError);
  });

  it("a socket createConnection hands over only after close() is destroyed as it comes", async () => {
    let handOver: (socket: net.Socket) => void = () => undefined;
    let asked: () => void = () => undefined;
    const wasAsked = new Promise<void>((resolve) => (asked = resolve));
    const ftp = new FTP({
      host: "127.0.0.1",
      port: listener.port,
      timeout: 0,
      createConnection: () => {
        asked();
        return new Promise<net.Socket>((give) => (handOver = give));
      },
    });
    const ready = ftp.ready.then(
      () => undefined,
      (error: unknown) => error,
    );
    await wasAsked;
    ftp.close();
    const late = net.connect({ host: "127.0.0.1", port: listener.port });
    late.on("error", () => undefined);
    handOver(late);
    // The hand-over is taken a few promise turns later.
    for (let i = 0; i < 10 && !late.destroyed; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(late.destroyed).to.equal(true);
    expect(await ready).to.be.instanceOf(FtpClosedError);
  });
});
