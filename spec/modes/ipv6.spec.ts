/**
 * Issue 3: IPv6. Against a server on ::1 the client uses EPSV (passive) and
 * EPRT (active), never PASV or PORT, and every transfer kind works.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { FtpPermError, type FTP } from "../../lib/index.js";
import { patternBytes, patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { collect, Harness, rejection, verbs } from "./helpers.js";

const FILES = { "/pub/data.bin": patternFile(200_000), "/pub/notes.txt": "one\ntwo\n", "/pub/sub/": "" };

function dataCommands(srv: FixtureServer): string[] {
  return srv.commands.filter((line) => /^(PORT|EPRT|PASV|EPSV)\b/.test(line));
}

for (const mode of ["passive", "active"] as const) {
  describe(`IPv6 on ::1 (${mode})`, () => {
    const harness = new Harness();
    let srv: FixtureServer;
    let ftp: FTP;

    beforeEach(async () => {
      srv = await harness.server({ host: "::1", files: FILES });
      ftp = await harness.client(srv);
      ftp.setPasv(mode === "passive");
    });
    afterEach(() => harness.close());

    /** Every data connection was announced the IPv6 way. */
    function expectIpv6DataCommands(count: number): void {
      const sent = dataCommands(srv);
      expect(sent).to.have.length(count);
      for (const line of sent) {
        if (mode === "passive") expect(line).to.equal("EPSV");
        else expect(line).to.match(/^EPRT \|2\|::1\|\d+\|$/);
      }
    }

    it("connects over IPv6", () => {
      expect(srv.lastSession!.socket.remoteAddress).to.equal("::1");
      expect(ftp.welcome).to.match(/^220 /);
    });

    it("retrbinary", async () => {
      const data = await collect(ftp.retrbinary("RETR /pub/data.bin"));
      expect(data.length).to.equal(200_000);
      expect(patternMismatch(data)).to.equal(-1);
      expectIpv6DataCommands(1);
    });

    it("retrbinary with rest", async () => {
      const data = await collect(ftp.retrbinary("RETR /pub/data.bin", { rest: 199_000 }));
      expect(data.equals(patternBytes(199_000, 1000))).to.equal(true);
      expectIpv6DataCommands(1);
    });

    it("storbinary", async () => {
      const payload = patternBytes(3, 150_000);
      await pipeline(Readable.from([payload]), ftp.storbinary("STOR /pub/up.bin"));
      expect(srv.vfs.get("/pub/up.bin")?.equals(payload)).to.equal(true);
      expectIpv6DataCommands(1);
    });

    it("storlines", async () => {
      expect(await ftp.storlines("STOR /pub/up.txt", "a\nb\n")).to.match(/^226 /);
      expect(srv.vfs.get("/pub/up.txt")?.toString()).to.equal("a\nb\n");
      expectIpv6DataCommands(1);
    });

    it("retrlines", async () => {
      const lines: string[] = [];
      await ftp.retrlines("RETR /pub/notes.txt", (line) => lines.push(line));
      expect(lines).to.deep.equal(["one", "two"]);
      expectIpv6DataCommands(1);
    });

    it("mlsd", async () => {
      const names: string[] = [];
      for await (const [name, facts] of ftp.mlsd("/pub")) if (facts["type"] === "file") names.push(name);
      expect(names.sort()).to.deep.equal(["data.bin", "notes.txt"]);
      expectIpv6DataCommands(1);
    });

    it("nlst and dir", async () => {
      expect((await ftp.nlst("/pub")).sort()).to.deep.equal(["/pub/data.bin", "/pub/notes.txt", "/pub/sub"]);
      const long: string[] = [];
      await ftp.dir("/pub", (line) => long.push(line));
      expect(long).to.have.length(3);
      expectIpv6DataCommands(2);
    });

    it("ntransfercmd", async () => {
      const [socket, size] = await ftp.ntransfercmd("RETR /pub/notes.txt");
      expect(size).to.equal(8);
      expect(socket.remoteAddress).to.equal("::1");
      // Still in the session's first TYPE, A: the server sends CRLF.
      expect((await collect(socket)).toString()).to.equal("one\r\ntwo\r\n");
      expect(await ftp.voidresp()).to.match(/^226 /);
      expectIpv6DataCommands(1);
    });

    it("abort mid-download, then the client carries on", async () => {
      srv.vfs.set("/pub/big.bin", patternFile(32 * 1024 * 1024));
      const download = ftp.retrbinary("RETR /pub/big.bin");
      await new Promise((resolve) => download.once("data", resolve));
      download.pause();
      const error = new Promise((resolve) => download.once("error", resolve));
      expect(await ftp.abort()).to.match(/^(225|226|426) /);
      expect(await error).to.be.instanceOf(Error);
      expect(await ftp.pwd()).to.equal("/");
    });
  });
}

describe("IPv6 specifics", () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it("uses EPSV even with useEpsv: false, since PASV cannot name an IPv6 address", async () => {
    const srv = await harness.server({ host: "::1", files: FILES });
    const ftp = await harness.client(srv, { useEpsv: false });
    await ftp.nlst("/pub");
    expect(dataCommands(srv)).to.deep.equal(["EPSV"]);
  });

  it("does not fall back to PASV when EPSV is refused on IPv6: the refusal surfaces, the client stays usable", async () => {
    const srv = await harness.server({ host: "::1", files: FILES });
    srv.once("EPSV", (s) => s.reply(500, "EPSV not understood."));
    const ftp = await harness.client(srv);
    const error = await rejection(ftp.nlst("/pub"));
    expect(error).to.be.instanceOf(FtpPermError);
    expect(verbs(srv)).to.not.include("PASV");
    expect(await ftp.nlst("/pub/sub")).to.deep.equal([]);
  });

  it("sends EPRT, never PORT, in active mode on IPv6", async () => {
    const srv = await harness.server({ host: "::1", files: FILES });
    const ftp = await harness.client(srv, { passive: false });
    await ftp.nlst("/pub");
    expect(verbs(srv)).to.not.include("PORT");
    expect(dataCommands(srv)).to.have.length(1);
    expect(dataCommands(srv)[0]).to.match(/^EPRT \|2\|::1\|\d+\|$/);
  });

  it("connects to ::1 given by the constructor's host option", async () => {
    const srv = await harness.server({ host: "::1", files: FILES });
    const ftp = harness.bare({ host: "::1", port: srv.port, user: "user", password: "pass" });
    await ftp.ready;
    expect(await ftp.pwd()).to.equal("/");
  });
});
