/**
 * Issue 24: a firewalled EPSV port. Some servers answer EPSV with a port a
 * firewall drops (refused, or never answered). The first EPSV data
 * connection of a session is connected before the transfer command goes
 * out, so when it cannot be opened nothing of the transfer has reached the
 * server: the client asks PASV, runs the transfer over it, and keeps PASV
 * for the session (as curl does). On IPv6 there is no PASV: a clear error,
 * and the client goes on. Each transfer command reaches the server once.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { FtpConnectionError, FtpPermError, type FTP } from "../../lib/index.js";
import { patternBytes, patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { closedPort, HangingListener } from "./hanging-listener.js";
import { afterLogin, collect, Harness, rejection } from "./helpers.js";

const FILES = { "/f.bin": patternFile(100_000), "/dir/a.txt": "a\n", "/dir/b.txt": "b\n" };
const TIMEOUT = 300;

/** The data-connection and transfer commands after login, exactly as received. */
function dataCommands(srv: FixtureServer): string[] {
  return afterLogin(srv).filter((line) => /^(EPSV|PASV|PORT|EPRT|RETR|STOR|APPE|LIST|NLST|MLSD|REST)\b/.test(line));
}

/** Every kind of transfer, each checked for what it moved. */
const KINDS: Array<{ name: string; command: string; run: (ftp: FTP, srv: FixtureServer) => Promise<void> }> = [
  {
    name: "a download (retrbinary)",
    command: "RETR /f.bin",
    run: async (ftp) => {
      const data = await collect(ftp.retrbinary("RETR /f.bin"));
      expect(data.length).to.equal(100_000);
      expect(patternMismatch(data)).to.equal(-1);
    },
  },
  {
    name: "an upload (storbinary)",
    command: "STOR /up.bin",
    run: async (ftp, srv) => {
      const payload = patternBytes(3, 150_000);
      await pipeline(Readable.from([payload]), ftp.storbinary("STOR /up.bin"));
      expect(srv.vfs.get("/up.bin")?.equals(payload)).to.equal(true);
    },
  },
  {
    name: "a listing (NLST)",
    command: "NLST /dir",
    run: async (ftp) => {
      expect((await ftp.nlst("/dir")).sort()).to.deep.equal(["/dir/a.txt", "/dir/b.txt"]);
    },
  },
  {
    name: "a raw socket (ntransfercmd)",
    command: "RETR /f.bin",
    run: async (ftp) => {
      await ftp.voidcmd("TYPE I");
      const [socket] = await ftp.ntransfercmd("RETR /f.bin");
      expect((await collect(socket)).length).to.equal(100_000);
      expect(await ftp.voidresp()).to.match(/^226 /);
    },
  },
];

describe("a firewalled EPSV port: falling back to PASV", function () {
  this.timeout(5000);
  const harness = new Harness();
  let srv: FixtureServer;
  afterEach(() => harness.close());

  describe("refused", () => {
    let deadPort: number;
    beforeEach(async () => {
      srv = await harness.server({ files: FILES });
      deadPort = await closedPort();
      // Server: every EPSV -> 229 naming a port where nothing listens.
      srv.handle("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${deadPort}|)`));
    });

    for (const kind of KINDS) {
      it(`runs ${kind.name} over PASV, sending its command once, and uses PASV for the rest of the session`, async () => {
        const ftp = await harness.client(srv, { timeout: TIMEOUT });
        await kind.run(ftp, srv);
        await kind.run(ftp, srv);
        expect(dataCommands(srv)).to.deep.equal(["EPSV", "PASV", kind.command, "PASV", kind.command]);
        expect(ftp.closed).to.equal(false);
        expect(await ftp.pwd()).to.equal("/");
      });
    }

    it("with pipelining, never writes a command behind an EPSV whose port was not reached", async () => {
      const ftp = await harness.client(srv, { timeout: TIMEOUT, pipelining: true });
      await KINDS[0].run(ftp, srv);
      await KINDS[0].run(ftp, srv);
      expect(dataCommands(srv)).to.deep.equal(["EPSV", "PASV", "RETR /f.bin", "PASV", "RETR /f.bin"]);
    });

    it("a REST goes out once, after PASV, and the download resumes where asked", async () => {
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const data = await collect(ftp.retrbinary("RETR /f.bin", { rest: 99_000 }));
      expect(data.equals(patternBytes(99_000, 1000))).to.equal(true);
      expect(dataCommands(srv)).to.deep.equal(["EPSV", "PASV", "REST 99000", "RETR /f.bin"]);
    });

    it("a refusal of the transfer over PASV is the transfer's own error, and the client goes on", async () => {
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const error = await rejection(collect(ftp.retrbinary("RETR /missing.bin")));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(dataCommands(srv)).to.deep.equal(["EPSV", "PASV", "RETR /missing.bin"]);
      await KINDS[0].run(ftp, srv);
    });
  });

  describe("never answered (a firewall that drops the SYN)", () => {
    let listener: HangingListener;
    beforeEach(async () => {
      srv = await harness.server({ files: FILES });
      listener = await HangingListener.start();
      // Server: every EPSV -> 229 naming a port whose handshakes never complete.
      srv.handle("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${listener.port}|)`));
    });
    afterEach(() => listener.close());

    it("gives up on the EPSV port after `timeout`, downloads over PASV, and the client stays open", async () => {
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const started = Date.now();
      await KINDS[0].run(ftp, srv);
      expect(Date.now() - started).to.be.at.least(TIMEOUT - 20);
      await KINDS[1].run(ftp, srv);
      expect(dataCommands(srv)).to.deep.equal(["EPSV", "PASV", "RETR /f.bin", "PASV", "STOR /up.bin"]);
      expect(ftp.closed).to.equal(false);
    });

    it("an upload's STOR reaches the server once, over PASV", async () => {
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      await KINDS[1].run(ftp, srv);
      expect(srv.commands.filter((line) => line.startsWith("STOR"))).to.deep.equal(["STOR /up.bin"]);
    });
  });

  describe("on IPv6, where PASV cannot name an address", () => {
    it("fails with an FtpConnectionError saying so, sends no transfer command, and the client goes on", async () => {
      srv = await harness.server({ host: "::1", files: FILES });
      const deadPort = await closedPort("::1");
      // Server: the first EPSV -> 229 naming a port where nothing listens; later ones as usual.
      srv.once("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${deadPort}|)`));
      const ftp = await harness.client(srv, { timeout: TIMEOUT });
      const error = await rejection(collect(ftp.retrbinary("RETR /f.bin")));
      expect(error).to.be.instanceOf(FtpConnectionError);
      expect((error as FtpConnectionError).message).to.match(/EPSV port \d+ is unreachable and IPv6 has no PASV/);
      expect((error as FtpConnectionError).code).to.equal("ECONNREFUSED");
      expect(dataCommands(srv)).to.deep.equal(["EPSV"]);
      expect(ftp.closed).to.equal(false);
      expect(await ftp.pwd()).to.equal("/");
      await KINDS[0].run(ftp, srv);
      expect(dataCommands(srv)).to.deep.equal(["EPSV", "EPSV", "RETR /f.bin"]);
    });
  });

  it("sends the command at once once an EPSV port was reached: no PASV after a later refusal", async () => {
    // The first download reaches the fixture's own EPSV port; the second's
    // port is refused after RETR went out, which is the transfer's error.
    srv = await harness.server({ files: FILES, passiveTimeoutMs: 200 });
    const ftp = await harness.client(srv, { timeout: 2000 });
    await KINDS[0].run(ftp, srv);
    const deadPort = await closedPort();
    srv.once("EPSV", (s) => s.reply(229, `Entering Extended Passive Mode (|||${deadPort}|)`));
    const error = await rejection(collect(ftp.retrbinary("RETR /f.bin")));
    expect(error).to.be.instanceOf(FtpConnectionError);
    expect(dataCommands(srv)).to.deep.equal(["EPSV", "RETR /f.bin", "EPSV", "RETR /f.bin"]);
    expect(await ftp.pwd()).to.equal("/");
  });
});
