/**
 * A pool of one whose task returned a download that is read only after
 * the next use() (the caller waits for that use() first) waited for ever:
 * the client is held back until the download has settled, and nobody
 * would ever read it. Now a client held back by a transfer stream its
 * task returned that moves no byte for `leftoverTimeout` while a call
 * waits is closed (the stream errors with FtpClosedError) and the call
 * gets a new client. A stream that moves, or that no call waits behind,
 * is left alone.
 */
import { expect } from "chai";
import type { Readable } from "node:stream";
import { FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { FTP, FtpClosedError, FtpPool } from "../../lib/index.js";
import { settledWithin } from "../faults/helpers.js";

const BIG = 32 * 1024 * 1024;
const SMALL = 2 * 1024 * 1024;

describe("FtpPool: leftover work nobody reads is bounded by leftoverTimeout (T)", function () {
  this.timeout(20_000);
  let server: FixtureServer;
  const clients: FTP[] = [];
  const pools: FtpPool[] = [];

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/big.bin": patternFile(BIG), "/small.bin": patternFile(SMALL) } });
  });

  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.close({ timeout: 0 });
    for (const client of clients.splice(0)) client.close();
    await server.close();
  });

  function poolOf(size: number, leftoverTimeout?: number): FtpPool {
    const pool = new FtpPool({
      size,
      leftoverTimeout,
      connect: async () => {
        const client = await FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" });
        clients.push(client);
        return client;
      },
    });
    pools.push(pool);
    return pool;
  }

  /** Every byte of `stream`, read to its end. */
  async function readAll(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it("a pool of one: the next use() gets a new client once the unread download moved nothing for leftoverTimeout", async () => {
    const pool = poolOf(1, 300);
    const download = await pool.use(async (client) => client.retrbinary("RETR /big.bin"));
    const failed = new Promise<unknown>((resolve) => download.once("error", resolve));
    // The caller waits for this use() before it would read the download: without a bound, for ever.
    const next = await settledWithin(
      pool.use((client) => client.pwd()),
      10_000,
    );
    expect(next, "the next use()").to.deep.equal({ ok: true, value: "/" });
    expect(await failed, "the unread download").to.be.instanceOf(FtpClosedError);
    expect(clients.map((client) => client.closed)).to.deep.equal([true, false]);
  });

  it("a pool of one: a task that started a download and threw leaves it to nobody; the next use() gets a new client", async () => {
    const pool = poolOf(1, 300);
    let download: Readable | undefined;
    const failed = new Promise<unknown>((resolve) => {
      const task = pool.use(async (client) => {
        download = client.retrbinary("RETR /big.bin");
        download.once("error", resolve);
        throw new Error("the task failed after starting its download");
      });
      task.catch(() => undefined);
    });
    const next = await settledWithin(
      pool.use((client) => client.pwd()),
      10_000,
    );
    expect(next, "the next use()").to.deep.equal({ ok: true, value: "/" });
    expect(await failed, "the abandoned download").to.be.instanceOf(FtpClosedError);
    expect(clients.map((client) => client.closed)).to.deep.equal([true, false]);
  });

  it("a stream returned inside an object is not watched: read slowly while the next use() waits, it ends whole", async () => {
    const pool = poolOf(1, 300);
    const { stream } = await pool.use(async (client) => ({ stream: client.retrbinary("RETR /big.bin") }));
    const next = pool.use((client) => client.pwd());
    const chunks: Buffer[] = [];
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      const chunk = stream.read() as Buffer | null;
      if (chunk) chunks.push(chunk);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    chunks.push(await readAll(stream));
    expect(Buffer.concat(chunks)).to.have.length(BIG);
    expect(await next).to.equal("/");
    expect(clients).to.have.length(1);
  });

  it("a download that moves while the next use() waits is not closed: it ends whole, then that use() runs on its client", async () => {
    const pool = poolOf(1, 1000);
    // Too big to sit whole in the socket buffers: its transfer ends only as it is read.
    const download = await pool.use(async (client) => client.retrbinary("RETR /big.bin"));
    let ran = false;
    const next = pool.use(async (client) => {
      ran = true;
      return client.pwd();
    });
    // Read a little at a time for well past leftoverTimeout: a slow reader, not none.
    const chunks: Buffer[] = [];
    const until = Date.now() + 2500;
    while (Date.now() < until && !download.readableEnded) {
      const chunk = download.read() as Buffer | null;
      if (chunk) chunks.push(chunk);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect(ran, "the next use() ran before the download ended").to.equal(false);
    chunks.push(await readAll(download));
    const whole = Buffer.concat(chunks);
    expect(whole).to.have.length(BIG);
    expect(patternMismatch(whole, 0)).to.equal(-1);
    expect(await next).to.equal("/");
    expect(clients).to.have.length(1);
  });

  it("with no call waiting, an unread download is left alone past leftoverTimeout and reads whole afterwards", async () => {
    const pool = poolOf(1, 200);
    const download = await pool.use(async (client) => client.retrbinary("RETR /small.bin"));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const whole = await readAll(download);
    expect(whole).to.have.length(SMALL);
    expect(patternMismatch(whole, 0)).to.equal(-1);
    expect(await pool.use((client) => client.pwd())).to.equal("/");
    expect(clients).to.have.length(1);
  });

  it("refuses a leftoverTimeout that is no number, or below 0", () => {
    const connect = (): Promise<FTP> => Promise.reject(new Error("not called"));
    expect(() => new FtpPool({ connect, leftoverTimeout: "1" as unknown as number }))
      .to.throw(TypeError)
      .with.property("code", "ERR_INVALID_ARG_TYPE");
    expect(() => new FtpPool({ connect, leftoverTimeout: -1 }))
      .to.throw(RangeError)
      .with.property("code", "ERR_OUT_OF_RANGE");
    expect(() => new FtpPool({ connect, leftoverTimeout: Number.NaN }))
      .to.throw(RangeError)
      .with.property("code", "ERR_OUT_OF_RANGE");
  });
});
