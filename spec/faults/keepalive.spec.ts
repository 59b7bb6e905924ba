/**
 * Issue 12, keepalive: TCP keepalive on the control connection (it sits
 * silent through a whole transfer), `keepAlive: ms` NOOPs on an idle client
 * (an FtpPool's clients too), and a pool client found dead replaced before it
 * is handed out. Intervals are short so the specs run quickly; no spec
 * asserts how long anything took.
 */
import { expect } from "chai";
import * as net from "node:net";
import * as sinon from "sinon";
import { FTP, FtpPool } from "../../lib/index.js";
import type { Session } from "../../fixtures/server.js";
import { FaultCase, later, until, watchStream } from "./helpers.js";

/** How many NOOPs the server got. */
function noops(fc: FaultCase): number {
  return fc.srv.commands.filter((line) => line === "NOOP").length;
}

describe("faults: keepalive", function () {
  let fc: FaultCase;
  afterEach(async () => {
    sinon.restore();
    await fc?.dispose();
  });

  it("turns TCP keepalive on for the control connection", async () => {
    fc = await FaultCase.start();
    const setKeepAlive = sinon.spy(net.Socket.prototype, "setKeepAlive");
    const ftp = fc.client();
    await ftp.ready;
    const onControl = setKeepAlive.getCalls().filter((call) => (call.thisValue as net.Socket).remotePort === fc.srv.port);
    expect(onControl.map((call) => call.args[0])).to.deep.equal([true]);
    expect(onControl[0].args[1]).to.be.a("number").and.above(0);
    await fc.finish(ftp, false);
  });

  it("keepAlive sends NOOP while the client is idle, again and again, and the client stays in step", async () => {
    fc = await FaultCase.start();
    const ftp = fc.client({ keepAlive: 20 });
    await ftp.ready;
    expect(await until(() => noops(fc) >= 3), "three keepalive NOOPs").to.equal(true);
    expect(await ftp.pwd()).to.equal("/");
    await fc.finish(ftp, false);
  });

  it("keepAlive sends no NOOP while a transfer holds the connection", async () => {
    // Server: RETR -> 150, then 16 KiB every 20 ms for 300 ms, 226.
    fc = await FaultCase.start();
    let beforeFinal: string[] = [];
    fc.srv.handle("RETR", async (s: Session) => {
      s.reply(150, "Here it comes.");
      const sock = await s.openData();
      for (let i = 0; i < 15; i++) {
        sock.write(Buffer.alloc(16 * 1024, i));
        await s.sleep(20);
      }
      await s.closeData();
      beforeFinal = [...fc.srv.commands];
      s.reply(226, "Transfer complete.");
    });
    const ftp = fc.client({ keepAlive: 10 });
    await ftp.ready;
    const record = await watchStream(ftp.retrbinary("RETR f"));
    expect(record.errors.map(String)).to.deep.equal([]);
    // Commands are logged as they arrive: none came between RETR and its 226.
    expect(beforeFinal.slice(beforeFinal.indexOf("RETR f"))).to.deep.equal(["RETR f"]);
    await fc.finish(ftp, false);
  });

  it("a keepalive NOOP that gets no reply closes the client (the dead connection is found)", async () => {
    // Server: NOOP -> nothing, ever (a connection a NAT dropped looks the same).
    fc = await FaultCase.start();
    fc.srv.handle("NOOP", () => undefined);
    const ftp = fc.client({ keepAlive: 20, timeout: 200 });
    await ftp.ready;
    expect(await until(() => ftp.closed), "closed by the keepalive's timeout").to.equal(true);
    await fc.finish(ftp, true);
  });

  it("with retry, a keepalive NOOP that fails leaves the client open; the keepalive never reconnects, the next call does", async () => {
    // Server: the first NOOP -> the connection dropped; then, for a while,
    // every new connection -> 421 and closed (the server is down).
    fc = await FaultCase.start();
    fc.srv.once("NOOP", (s: Session) => s.drop());
    const ftp = fc.client({ keepAlive: 10, retry: { attempts: 2, minDelay: 1, maxDelay: 2 } });
    await ftp.ready;
    fc.srv.onConnect((s) => {
      s.reply(421, "Service not available.");
      s.close();
    });
    expect(await until(() => noops(fc) === 1 && fc.srv.openConnections() === 0), "the keepalive NOOP and the drop").to.equal(true);
    // Were the keepalive to reconnect, its attempts would meet the 421s and
    // close the client within a few intervals of 10 ms.
    expect(await until(() => ftp.closed || fc.srv.sessions.length > 1, 500), "closed or reconnected by the keepalive").to.equal(false);
    fc.srv.onConnect(undefined);
    expect(await ftp.pwd()).to.equal("/");
    expect(fc.srv.sessions).to.have.length(2);
    expect(await until(() => noops(fc) >= 2), "keepalive NOOPs on the new connection").to.equal(true);
    await fc.finish(ftp, false);
  });

  it("refuses a keepAlive that is not a positive number of milliseconds", () => {
    for (const keepAlive of [0, -5, Number.NaN, Infinity]) {
      expect(() => new FTP({ keepAlive }), String(keepAlive)).to.throw(RangeError, /keepAlive/);
    }
  });

  describe("FtpPool", () => {
    let pool: FtpPool | undefined;
    afterEach(async () => {
      await pool?.close();
      pool = undefined;
    });

    function poolOf(keepAlive?: number): FtpPool {
      const { host, port } = fc.srv;
      return new FtpPool({ size: 1, connect: () => FTP.create({ host, port, user: "user", password: "pass", keepAlive }) });
    }

    it("keeps its idle clients alive with NOOPs when they were made with keepAlive", async () => {
      fc = await FaultCase.start();
      pool = poolOf(20);
      expect(await pool.use((ftp) => ftp.pwd())).to.equal("/");
      expect(await until(() => noops(fc) >= 2), "keepalive NOOPs from the idle pooled client").to.equal(true);
      expect(await pool.use((ftp) => ftp.pwd())).to.equal("/");
      expect(fc.srv.commands.filter((line) => line === "USER user")).to.have.length(1);
    });

    it("replaces a client its keepalive found dead before handing it out", async () => {
      // Server: the first NOOP -> 421 and the connection closed.
      fc = await FaultCase.start();
      fc.srv.once("NOOP", (s: Session) => {
        s.reply(421, "Timeout, closing control connection.");
        s.close();
      });
      pool = poolOf(20);
      let first: FTP | undefined;
      await pool.use(async (ftp) => {
        first = ftp;
        await ftp.pwd();
      });
      expect(await until(() => first!.closed), "the pooled client closed by its keepalive").to.equal(true);
      const next = await pool.use(async (ftp) => ({ same: ftp === first, pwd: await ftp.pwd() }));
      expect(next).to.deep.equal({ same: false, pwd: "/" });
      expect(fc.srv.commands.filter((line) => line === "USER user")).to.have.length(2);
    });

    it("replaces an idle client whose server hung up, without keepAlive", async () => {
      fc = await FaultCase.start();
      pool = poolOf();
      let first: FTP | undefined;
      await pool.use(async (ftp) => {
        first = ftp;
        await ftp.pwd();
      });
      fc.srv.sessions[0].drop();
      expect(await until(() => first!.closed), "the pooled client saw the hang-up").to.equal(true);
      const next = later(pool.use(async (ftp) => ({ same: ftp === first, pwd: await ftp.pwd() })));
      expect(await next).to.deep.equal({ same: false, pwd: "/" });
    });
  });
});
