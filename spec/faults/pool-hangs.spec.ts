/**
 * An FtpPool whose `connect` function never settles (a client made with
 * `timeout: 0` against a server that accepts and says nothing, or user
 * code that hangs): close() settles every use() waiting on it, the one
 * that called connect as well as those queued behind it, and a client that
 * connect hands over after close() is closed, never used; a client connect
 * is still making is closed by close() itself.
 */
import { expect } from "chai";
import * as net from "node:net";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpPool } from "../../lib/index.js";
import { settledWithin } from "./helpers.js";

/** The code of the error `promise` rejected with; fails if it resolved or had not settled within the bound. */
async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  const result = await settledWithin(promise);
  if (result === "pending") expect.fail("the use() never settled");
  if (result.ok) expect.fail(`the use() resolved with ${JSON.stringify(result.value)}`);
  return (result.error as { code?: string }).code;
}

describe("faults: FtpPool with a connect function that never settles", () => {
  let server: FixtureServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("close() rejects every use(), those whose own connect is still running included", async () => {
    let calls = 0;
    const pool = new FtpPool({
      size: 2,
      connect: () => {
        calls++;
        return new Promise<FTP>(() => undefined);
      },
    });
    const ran: number[] = [];
    const uses = [1, 2, 3].map((n) => pool.use(async () => void ran.push(n)));
    // Two connects running (the pool's size), the third use() waits for a client.
    expect(calls).to.equal(2);
    await pool.close();
    for (const use of uses) expect(await rejectionCode(use)).to.equal("ERR_FTP_POOL_CLOSED");
    expect(ran).to.deep.equal([]);
  });

  it("a client the hanging connect hands over after close() is closed, and no task runs on it", async () => {
    server = await FixtureServer.start();
    const srv = server;
    let handOver: ((client: FTP) => void) | undefined;
    const pool = new FtpPool({ size: 1, connect: () => new Promise<FTP>((resolve) => (handOver = resolve)) });
    let ran = false;
    const use = pool.use(async () => {
      ran = true;
    });
    await pool.close();
    expect(await rejectionCode(use)).to.equal("ERR_FTP_POOL_CLOSED");
    const late = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass" });
    handOver!(late);
    await new Promise((resolve) => setImmediate(resolve));
    expect(late.closed).to.equal(true);
    expect(ran).to.equal(false);
  });

  it("close() closes a client its connect is still making (a server that accepts and never welcomes, timeout 0)", async () => {
    // Accepts and says nothing: the client waits for a welcome for ever.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const made: FTP[] = [];
      const pool = new FtpPool({
        size: 1,
        connect: async () => {
          const client = new FTP({ timeout: 0 });
          made.push(client);
          await client.connect("127.0.0.1", port);
          return client;
        },
      });
      const use = pool.use(async () => undefined);
      while (sockets.length === 0) await new Promise((resolve) => setImmediate(resolve));
      const serverSide = sockets[0];
      const ended = new Promise<void>((resolve) => serverSide.once("close", () => resolve()));
      serverSide.resume();
      await pool.close();
      expect(await rejectionCode(use)).to.equal("ERR_FTP_POOL_CLOSED");
      // Without it the socket stays open, holding the process, until the client's timeout: never, here.
      expect(made[0].closed).to.equal(true);
      expect(await settledWithin(ended)).to.not.equal("pending");
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
