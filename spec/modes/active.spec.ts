/**
 * Issue 3: active mode (PORT, EPRT fallback) next to passive mode
 * (EPSV), running every kind of transfer both ways and checking what the
 * server was told and which bytes moved.
 */
import net from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { FtpPermError } from "../../lib/index.js";
import { FixtureServer, patternBytes, patternFile, patternMismatch } from "../../fixtures/server.js";
import { afterLogin, collect, Harness, rejection, verbs } from "./helpers.js";

const FILES = {
  "/pub/data.bin": patternFile(300_000),
  "/pub/notes.txt": "first line\nsecond line\nthird\n",
  "/pub/sub/": "",
};

/** The data-connection command each transfer was preceded by. */
function dataCommands(srv: FixtureServer): string[] {
  return verbs(srv).filter((verb) => ["PORT", "EPRT", "PASV", "EPSV"].includes(verb));
}

for (const mode of ["active", "passive"] as const) {
  describe(`${mode} mode transfers (IPv4)`, () => {
    const harness = new Harness();
    let srv: FixtureServer;
    const expectedVerb = mode === "active" ? "PORT" : "EPSV";

    beforeEach(async () => {
      srv = await harness.server({ files: FILES });
    });
    afterEach(() => harness.close());

    async function client() {
      const ftp = await harness.client(srv);
      ftp.setPasv(mode === "passive");
      return ftp;
    }

    it(`retrbinary streams the file's bytes after ${expectedVerb}`, async () => {
      const ftp = await client();
      const data = await collect(ftp.retrbinary("RETR /pub/data.bin"));
      expect(data.length).to.equal(300_000);
      expect(patternMismatch(data)).to.equal(-1);
      expect(afterLogin(srv).map((line) => line.split(" ")[0])).to.deep.equal(["TYPE", expectedVerb, "RETR"]);
    });

    it("retrbinary with a callback hands over blocks of at most blocksize and resolves to the 226", async () => {
      const ftp = await client();
      const blocks: Buffer[] = [];
      const reply = await ftp.retrbinary("RETR /pub/data.bin", (block) => blocks.push(block), 4096);
      expect(reply).to.match(/^226 /);
      expect(blocks.every((block) => block.length <= 4096)).to.equal(true);
      expect(patternMismatch(Buffer.concat(blocks))).to.equal(-1);
      expect(Buffer.concat(blocks).length).to.equal(300_000);
      expect(dataCommands(srv)).to.deep.equal([expectedVerb]);
    });

    it("retrbinary with rest sends REST before RETR and gets the tail", async () => {
      const ftp = await client();
      const data = await collect(ftp.retrbinary("RETR /pub/data.bin", { rest: 250_000 }));
      expect(data.equals(patternBytes(250_000, 50_000))).to.equal(true);
      const tail = afterLogin(srv).slice(-2);
      expect(tail).to.deep.equal(["REST 250000", "RETR /pub/data.bin"]);
    });

    it("storbinary as a Writable uploads every byte and finishes after the 226", async () => {
      const ftp = await client();
      const payload = patternBytes(7, 200_001);
      const upload = ftp.storbinary("STOR /pub/up.bin");
      await pipeline(Readable.from([payload.subarray(0, 100_000), payload.subarray(100_000)]), upload);
      expect(upload.response).to.match(/^226 /);
      expect(srv.vfs.get("/pub/up.bin")?.equals(payload)).to.equal(true);
      expect(dataCommands(srv)).to.deep.equal([expectedVerb]);
    });

    it("storbinary in ftplib's form calls back per block and resolves to the 226", async () => {
      const ftp = await client();
      const sent: number[] = [];
      const reply = await ftp.storbinary("STOR /pub/up.bin", Buffer.from("hello, server"), {
        callback: (block) => sent.push(block.length),
      });
      expect(reply).to.match(/^226 /);
      expect(sent.reduce((a, b) => a + b, 0)).to.equal(13);
      expect(srv.vfs.get("/pub/up.bin")?.toString()).to.equal("hello, server");
      expect(verbs(srv)).to.include(expectedVerb);
    });

    it("retrlines delivers the file's lines without their CRLF (TYPE A)", async () => {
      const ftp = await client();
      const lines: string[] = [];
      const reply = await ftp.retrlines("RETR /pub/notes.txt", (line) => lines.push(line));
      expect(reply).to.match(/^226 /);
      expect(lines).to.deep.equal(["first line", "second line", "third"]);
      expect(afterLogin(srv).map((line) => line.split(" ")[0])).to.deep.equal(["TYPE", expectedVerb, "RETR"]);
      expect(afterLogin(srv)[0]).to.equal("TYPE A");
    });

    it("retrlines as a stream of lines, e.g. LIST", async () => {
      const ftp = await client();
      const lines: string[] = [];
      for await (const line of ftp.retrlines("LIST /pub")) lines.push(line as string);
      expect(lines).to.have.length(3);
      expect(lines.some((line) => line.endsWith(" data.bin"))).to.equal(true);
      expect(lines.some((line) => line.startsWith("d") && line.endsWith(" sub"))).to.equal(true);
      expect(dataCommands(srv)).to.deep.equal([expectedVerb]);
    });

    it("mlsd yields names with lower-cased facts", async () => {
      const ftp = await client();
      const entries: Array<[string, Record<string, string>]> = [];
      for await (const entry of ftp.mlsd("/pub", ["type", "size"])) entries.push(entry);
      const byName = Object.fromEntries(entries);
      expect(Object.keys(byName)).to.include.members(["data.bin", "notes.txt", "sub"]);
      expect(byName["data.bin"]).to.include({ type: "file", size: "300000" });
      expect(byName["sub"]).to.include({ type: "dir" });
      expect(srv.commands).to.include("OPTS MLST type;size;");
      expect(dataCommands(srv)).to.deep.equal([expectedVerb]);
    });

    it("nlst returns the names", async () => {
      const ftp = await client();
      expect((await ftp.nlst("/pub")).sort()).to.deep.equal(["/pub/data.bin", "/pub/notes.txt", "/pub/sub"]);
      expect(srv.commands).to.include("NLST /pub");
      expect(dataCommands(srv)).to.deep.equal([expectedVerb]);
    });

    it("runs transfers back to back on one client, each with its own data connection", async () => {
      const ftp = await client();
      const [first, second, names] = await Promise.all([
        collect(ftp.retrbinary("RETR /pub/notes.txt")),
        collect(ftp.retrbinary("RETR /pub/data.bin")),
        ftp.nlst("/pub/sub"),
      ]);
      expect(first.toString()).to.equal(FILES["/pub/notes.txt"]);
      expect(patternMismatch(second)).to.equal(-1);
      expect(names).to.deep.equal([]);
      expect(dataCommands(srv)).to.deep.equal([expectedVerb, expectedVerb, expectedVerb]);
      expect(await ftp.pwd()).to.equal("/");
    });
  });
}

describe("active mode details", () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it("announces the control connection's local address in PORT, and the server connects there", async () => {
    const srv = await harness.server({ files: FILES });
    const ftp = await harness.client(srv);
    ftp.setPasv(false);
    await collect(ftp.retrbinary("RETR /pub/notes.txt"));
    const port = srv.commands.find((line) => line.startsWith("PORT "))!;
    const parts = port.slice(5).split(",").map(Number);
    expect(parts.slice(0, 4).join(".")).to.equal("127.0.0.1");
    expect(parts[4] * 256 + parts[5]).to.be.within(1, 65535);
  });

  it("falls back to EPRT when PORT is refused with 500, and the transfer works", async () => {
    const srv = await harness.server({ files: FILES });
    srv.handle("PORT", (s) => s.reply(500, "PORT not understood."));
    const ftp = await harness.client(srv);
    ftp.setPasv(false);
    const data = await collect(ftp.retrbinary("RETR /pub/data.bin"));
    expect(patternMismatch(data)).to.equal(-1);
    const eprt = srv.commands.find((line) => line.startsWith("EPRT "));
    expect(eprt).to.match(/^EPRT \|1\|127\.0\.0\.1\|\d+\|$/);
    expect(dataCommands(srv)).to.deep.equal(["PORT", "EPRT"]);
  });

  it("falls back to EPRT when PORT is refused with 501", async () => {
    const srv = await harness.server({ files: FILES });
    srv.handle("PORT", (s) => s.reply(501, "Syntax error in PORT."));
    const ftp = await harness.client(srv);
    ftp.setPasv(false);
    expect(await ftp.nlst("/pub/sub")).to.deep.equal([]);
    expect(dataCommands(srv)).to.deep.equal(["PORT", "EPRT"]);
  });

  it("does not try EPRT after another refusal of PORT (550): the error surfaces and the client stays usable", async () => {
    const srv = await harness.server({ files: FILES });
    srv.once("PORT", (s) => s.reply(550, "Permission denied."));
    const ftp = await harness.client(srv);
    ftp.setPasv(false);
    const error = await rejection(collect(ftp.retrbinary("RETR /pub/notes.txt")));
    expect(error).to.be.instanceOf(FtpPermError);
    expect((error as FtpPermError).replyCode).to.equal(550);
    expect(verbs(srv)).to.not.include("EPRT");
    expect(verbs(srv)).to.not.include("RETR");
    expect((await collect(ftp.retrbinary("RETR /pub/notes.txt"))).toString()).to.equal(FILES["/pub/notes.txt"]);
  });

  it("setPasv(true) returns to passive after active transfers", async () => {
    const srv = await harness.server({ files: FILES });
    const ftp = await harness.client(srv);
    ftp.setPasv(false);
    await ftp.nlst("/pub");
    ftp.setPasv(true);
    await ftp.nlst("/pub");
    expect(dataCommands(srv)).to.deep.equal(["PORT", "EPSV"]);
  });

  it("the `passive: false` option starts in active mode", async () => {
    const srv = await harness.server({ files: FILES });
    const ftp = await harness.client(srv, { passive: false });
    await ftp.nlst("/pub");
    expect(dataCommands(srv)).to.deep.equal(["PORT"]);
  });

  it("passive mode falls back to PASV when EPSV is refused, and stays on PASV", async () => {
    const srv = await harness.server({ files: FILES });
    srv.handle("EPSV", (s) => s.reply(500, "EPSV not understood."));
    const ftp = await harness.client(srv);
    await ftp.nlst("/pub");
    await ftp.nlst("/pub");
    expect(dataCommands(srv)).to.deep.equal(["EPSV", "PASV", "PASV"]);
  });

  it("drops a connection to its data port from another address, then takes the server's", async () => {
    const srv = await harness.server({ files: FILES });
    let intruderClosed: Promise<boolean> | undefined;
    srv.once("RETR", async (s, arg) => {
      const port = srv.commands
        .filter((line) => line.startsWith("PORT "))
        .pop()!
        .slice(5)
        .split(",")
        .map(Number);
      // 127.0.0.2 is loopback too, but not the control connection's peer.
      const intruder = net.connect({ host: "127.0.0.1", port: port[4] * 256 + port[5], localAddress: "127.0.0.2" });
      intruder.on("error", () => undefined);
      intruderClosed = new Promise((resolve) => {
        let got = false;
        intruder.on("data", () => {
          got = true;
        });
        intruder.on("close", () => resolve(got));
      });
      await new Promise((resolve) => intruder.once("connect", resolve));
      await intruderClosed;
      await s.defaultHandler("RETR", arg);
    });
    const ftp = await harness.client(srv);
    ftp.setPasv(false);
    const data = await collect(ftp.retrbinary("RETR /pub/notes.txt"));
    expect(data.toString()).to.equal(FILES["/pub/notes.txt"]);
    expect(intruderClosed).to.not.equal(undefined);
    expect(await intruderClosed).to.equal(false);
  });
});
