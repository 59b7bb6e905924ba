/**
 * Issue 3: abort() (a plain ABOR line, as ftplib's bytes), the 426-then-226 pair,
 * and the same path taken by a transfer stream's destroy() and AbortSignal.
 * After each, the client must be in sync: the next command gets its own reply.
 */
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { FTP_TLS, FtpProtoError, FtpTempError, type FTP } from "../../lib/index.js";
import { makeSelfSignedCert } from "../../fixtures/cert.js";
import { patternBytes, patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { Harness, rejection } from "./helpers.js";

const MiB = 1024 * 1024;
const FILES = { "/big.bin": patternFile(64 * MiB), "/small.txt": "small\n" };

/** Reads `stream` until at least `bytes` arrived, checking the pattern on the way; leaves it paused. */
async function readAtLeast(stream: Readable, bytes: number): Promise<number> {
  let received = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      if (patternMismatch(chunk, received) !== -1) reject(new Error(`pattern mismatch near ${received}`));
      received += chunk.length;
      if (received >= bytes) {
        stream.off("data", onData);
        stream.pause();
        resolve(received);
      }
    };
    stream.on("data", onData);
    stream.once("error", reject);
  });
}

/** Resolves with the stream's error (or undefined if it closes without one). */
function streamError(stream: Readable | Writable): Promise<Error | undefined> {
  return new Promise((resolve) => {
    stream.once("error", resolve);
    stream.once("close", () => resolve(stream.errored ?? undefined));
  });
}

/** Reads a whole stream into one Buffer. */
async function collectAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The client answers correctly to a few ordinary commands: nothing stray is left on the connection. */
async function expectInSync(ftp: FTP): Promise<void> {
  expect(await ftp.pwd()).to.equal("/");
  expect(await ftp.sendcmd("NOOP")).to.match(/^200 /);
  expect(await ftp.size("/small.txt")).to.equal(6);
  expect(await ftp.nlst("/small.txt")).to.deep.equal(["/small.txt"]);
}

/** Node 20 and later: lib/transfer.ts resets an aborted download's data connection (Node 18's reset could leave the handle open). */
const RESET_ON_ABORT = Number(process.versions.node.split(".")[0]) >= 20;

/**
 * Makes `srv`'s next RETR send one small chunk and hold the data connection
 * open; resolves to how the server sees the client close it: "FIN" (an
 * orderly close) or the socket error's code (a reset: "ECONNRESET").
 */
function closeSeenOnNextRetr(srv: FixtureServer): Promise<string> {
  return new Promise((resolve) => {
    srv.once("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      const data = await s.openData();
      const closed = new Promise<string>((done) => {
        data.once("end", () => done("FIN"));
        data.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
      });
      data.resume();
      data.write("one chunk");
      const how = await closed;
      resolve(how);
      s.reply(426, "Transfer aborted.");
    });
  });
}

/**
 * Destroys a download once its one chunk is read, so nothing is left unread
 * when the data connection closes (the case where a plain close() sends a FIN).
 */
async function abortAfterFirstChunk(download: Readable): Promise<void> {
  for await (const chunk of download) {
    expect((chunk as Buffer).toString()).to.equal("one chunk");
    break;
  }
}

for (const mode of ["passive", "active"] as const) {
  describe(`abort (${mode})`, () => {
    const harness = new Harness();
    let srv: FixtureServer;

    beforeEach(async () => {
      srv = await harness.server({ files: FILES });
    });
    afterEach(() => harness.close());

    async function client(): Promise<FTP> {
      const ftp = await harness.client(srv);
      ftp.setPasv(mode === "passive");
      return ftp;
    }

    // A FIN leaves the server's socket half-closed, and its next write fails
    // with EPIPE, which proftpd's mod_tls takes for fatal: it ends the session.
    it("closes an aborted download's data connection with a reset, not a FIN, even with nothing left unread", async function () {
      if (!RESET_ON_ABORT) this.skip();
      const ftp = await client();
      const seen = closeSeenOnNextRetr(srv);
      await abortAfterFirstChunk(ftp.retrbinary("RETR /big.bin"));
      expect(await seen).to.equal("ECONNRESET");
      await expectInSync(ftp);
    });

    it("abort() half-way through a 64 MiB download, then pwd() on the same client works", async () => {
      const ftp = await client();
      const download = ftp.retrbinary("RETR /big.bin");
      const failed = streamError(download);
      const received = await readAtLeast(download, 32 * MiB);
      expect(received).to.be.lessThan(64 * MiB);
      const reply = await ftp.abort();
      expect(reply).to.match(/^(225|226|426) /);
      // The stream did not get all the bytes, so it must not look like success.
      const error = await failed;
      expect(error).to.be.instanceOf(Error);
      expect(download.readableEnded).to.equal(false);
      expect(srv.commands).to.include("ABOR");
      expect(await ftp.pwd()).to.equal("/");
      await expectInSync(ftp);
    });

    it("destroy() of a download stream sends ABOR, reads the 426 and 226, and leaves the client usable", async () => {
      const ftp = await client();
      const download = ftp.retrbinary("RETR /big.bin");
      await readAtLeast(download, 4 * MiB);
      const closed = new Promise((resolve) => download.once("close", resolve));
      download.destroy();
      await closed;
      await srv.waitForCommand("ABOR", { from: 0 });
      await expectInSync(ftp);
      const after = srv.commands.slice(srv.commands.indexOf("ABOR"));
      // The NOOP marks the end of ABOR's replies, however many the server sends.
      expect(after.slice(0, 3)).to.deep.equal(["ABOR", "NOOP", "PWD"]);
    });

    it("an AbortSignal aborts a download the same way: AbortError on the stream, ABOR on the wire, client usable", async () => {
      const ftp = await client();
      const controller = new AbortController();
      const download = ftp.retrbinary("RETR /big.bin", { signal: controller.signal });
      const failed = streamError(download);
      await readAtLeast(download, 4 * MiB);
      controller.abort();
      const error = await failed;
      expect(error?.name).to.equal("AbortError");
      await srv.waitForCommand("ABOR", { from: 0 });
      await expectInSync(ftp);
    });

    it("a signal aborted before the transfer starts sends neither ABOR nor RETR", async () => {
      const ftp = await client();
      const download = ftp.retrbinary("RETR /big.bin", { signal: AbortSignal.abort() });
      const error = await streamError(download);
      expect(error?.name).to.equal("AbortError");
      await expectInSync(ftp);
      expect(srv.commands.some((line) => line.startsWith("RETR"))).to.equal(false);
    });

    it("an AbortSignal aborts an upload: ABOR, the partial file stays, client usable", async () => {
      const ftp = await client();
      const controller = new AbortController();
      const upload = ftp.storbinary("STOR /up.bin", { signal: controller.signal });
      let sent = 0;
      const source = new Readable({
        read() {
          if (sent >= 2 * MiB) {
            controller.abort();
            return;
          }
          this.push(patternBytes(sent, 64 * 1024));
          sent += 64 * 1024;
        },
      });
      const error = await rejection(pipeline(source, upload));
      expect((error as Error).name).to.equal("AbortError");
      await srv.waitForCommand("ABOR", { from: 0 });
      await expectInSync(ftp);
      const stored = srv.vfs.get("/up.bin");
      expect(stored, "the server kept what arrived").to.not.equal(undefined);
      expect(patternMismatch(stored!)).to.equal(-1);
    });

    it("destroying a retrlines stream aborts its download", async () => {
      srv.vfs.set("/many.txt", Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i}\n`).join("")));
      const ftp = await client();
      const lines = ftp.retrlines("RETR /many.txt");
      let count = 0;
      for await (const line of lines) {
        expect(line).to.equal(`line ${count}`);
        if (++count === 1000) break; // for-await's break destroys the stream
      }
      await srv.waitForCommand("ABOR", { from: 0 });
      await expectInSync(ftp);
    });

    it("abort() from inside a retrbinary callback (ftplib's idiom): the call rejects with the 426, the client carries on", async () => {
      const ftp = await client();
      let received = 0;
      let aborting: Promise<string> | undefined;
      const transfer = ftp.retrbinary("RETR /big.bin", (block) => {
        received += block.length;
        if (received >= 2 * MiB) aborting ??= ftp.abort();
      });
      const error = await rejection(transfer);
      expect(error).to.be.instanceOf(FtpTempError);
      expect((error as FtpTempError).replyCode).to.equal(426);
      expect(aborting).to.not.equal(undefined);
      expect(await aborting).to.match(/^(225|226) /);
      expect(received).to.be.lessThan(64 * MiB);
      await expectInSync(ftp);
    });

    it("leaving an mlsd loop early aborts the listing and leaves the client usable", async () => {
      // A listing that never ends: only an abort can stop it.
      srv.handle("MLSD", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        let i = 0;
        await s.sendData(
          new Readable({
            read() {
              this.push(`type=file;size=${i};modify=20240101000000; file-${i++}.txt\r\n`);
            },
          }),
        );
        s.reply(226, "Directory send OK.");
      });
      const ftp = await client();
      const seen: string[] = [];
      for await (const [name, facts] of ftp.mlsd("/many")) {
        if (facts["type"] !== "file") continue;
        seen.push(name);
        if (seen.length === 10) break;
      }
      expect(seen).to.have.length(10);
      await srv.waitForCommand("ABOR", { from: 0 });
      await expectInSync(ftp);
    });

    it("abort() during ntransfercmd closes the caller's socket and frees the queue", async () => {
      const ftp = await client();
      const [socket, size] = await ftp.ntransfercmd("RETR /big.bin");
      expect(size).to.equal(64 * MiB);
      const closed = new Promise((resolve) => socket.once("close", resolve));
      socket.resume();
      const reply = await ftp.abort();
      expect(reply).to.match(/^(225|226|426) /);
      await closed;
      expect(socket.destroyed).to.equal(true);
      await expectInSync(ftp);
    });
  });
}

describe("abort() replies", () => {
  const harness = new Harness();
  let srv: FixtureServer;

  beforeEach(async () => {
    srv = await harness.server({ files: FILES });
  });
  afterEach(() => harness.close());

  it("with no transfer running, sends ABOR and resolves to the 225", async () => {
    const ftp = await harness.client(srv);
    expect(await ftp.abort()).to.equal("225 No transfer to abort.");
    await expectInSync(ftp);
  });

  // ftplib sends ABOR's bytes alone (as urgent data, without the RFC's
  // Telnet IP/Synch), and pure-ftpd silently ignores an ABOR line that
  // starts with IAC IP IAC DM: the bytes on the wire are just "ABOR\r\n".
  it("sends ABOR alone, without Telnet IP and Synch, as ftplib's bytes (pure-ftpd ignores the prefixed form)", async () => {
    const raw: Buffer[] = [];
    srv.once("NOOP", (s) => {
      s.socket.on("data", (chunk: Buffer) => raw.push(chunk));
      s.reply(200, "NOOP ok.");
    });
    const ftp = await harness.client(srv);
    await ftp.sendcmd("NOOP");
    await ftp.abort();
    expect(Buffer.concat(raw).toString("latin1")).to.equal("ABOR\r\n");
  });

  it("FTP_TLS sends ABOR alone, without the Telnet bytes, on a TLS control connection (as ftplib's FTP_TLS.abort)", async () => {
    const cert = await makeSelfSignedCert();
    const tlsServer = await harness.server({ files: FILES, tls: cert });
    const raw: Buffer[] = [];
    tlsServer.once("NOOP", (s) => {
      s.socket.on("data", (chunk: Buffer) => raw.push(chunk));
      s.reply(200, "NOOP ok.");
    });
    const ftps = new FTP_TLS({ tls: { ca: cert.cert } });
    try {
      await ftps.connect(tlsServer.host, tlsServer.port);
      await ftps.login("user", "pass");
      expect(ftps.secure).to.equal(true);
      await ftps.sendcmd("NOOP");
      expect(await ftps.abort()).to.equal("225 No transfer to abort.");
      expect(Buffer.concat(raw).toString("latin1")).to.equal("ABOR\r\n");
    } finally {
      ftps.close();
    }
  });

  it("FTP_TLS closes an aborted PROT P download's data connection with a TCP reset, not a FIN or a TLS close", async function () {
    if (!RESET_ON_ABORT) this.skip();
    const cert = await makeSelfSignedCert();
    const tlsServer = await harness.server({ files: FILES, tls: cert });
    const ftps = new FTP_TLS({ tls: { ca: cert.cert } });
    try {
      await ftps.connect(tlsServer.host, tlsServer.port);
      await ftps.login("user", "pass");
      await ftps.prot_p();
      const seen = closeSeenOnNextRetr(tlsServer);
      await abortAfterFirstChunk(ftps.retrbinary("RETR /big.bin"));
      expect(await seen).to.equal("ECONNRESET");
      expect(await ftps.pwd()).to.equal("/");
    } finally {
      ftps.close();
    }
  });

  it("accepts 226 as the reply to a lone ABOR", async () => {
    srv.once("ABOR", (s) => s.reply(226, "Abort successful."));
    const ftp = await harness.client(srv);
    expect(await ftp.abort()).to.equal("226 Abort successful.");
    await expectInSync(ftp);
  });

  it("rejects any other reply with FtpProtoError (as ftplib's error_proto), and stays usable", async () => {
    srv.once("ABOR", (s) => s.reply(500, "Unknown command."));
    const ftp = await harness.client(srv);
    const error = await rejection(ftp.abort());
    expect(error).to.be.instanceOf(FtpProtoError);
    expect((error as FtpProtoError).response).to.equal("500 Unknown command.");
    await expectInSync(ftp);
  });

  it("reads the 426-then-226 pair of an aborted raw transfer: the next command gets its own reply", async () => {
    // A server that sends the transfer's 426 and ABOR's 226 back to back, as vsftpd does.
    srv.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      const sock = await s.openData();
      sock.write(patternBytes(0, 1000));
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (s.abortRequested || s.closed) {
            clearInterval(poll);
            resolve();
          }
        }, 2);
      });
    });
    srv.handle("ABOR", (s) => {
      s.abortTransfer();
      s.send("426 Connection closed; transfer aborted.\r\n226 ABOR successful.\r\n");
    });
    const ftp = await harness.client(srv);
    const [socket] = await ftp.ntransfercmd("RETR /big.bin");
    socket.resume();
    expect(await ftp.abort()).to.equal("226 ABOR successful.");
    expect(await ftp.pwd()).to.equal("/");
    expect(await ftp.sendcmd("NOOP")).to.equal("200 NOOP ok.");
  });

  describe("abort() racing the end of a transfer, with ABOR's own reply coming late", () => {
    /**
     * RETR sends everything and closes the data connection, then holds its
     * 226 until ABOR has crossed it; ABOR, queued behind RETR since no
     * transfer is left to cut, answers 225 a little later. abort() must read
     * both before the queue moves on, or the next command reads ABOR's reply.
     */
    function finishedBeforeAbor(): Promise<void> {
      let sent: () => void = () => undefined;
      const allSent = new Promise<void>((resolve) => {
        sent = resolve;
      });
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        await s.sendData("all of it");
        sent();
        await srv.waitForCommand("ABOR", { from: 0 });
        s.reply(226, "Transfer complete.");
      });
      srv.handle("ABOR", async (s) => {
        await s.sleep(50);
        s.reply(225, "No transfer to abort.");
      });
      return allSent;
    }

    it("through ntransfercmd: abort() resolves to the 225 and the next command gets its own reply", async () => {
      const allSent = finishedBeforeAbor();
      const ftp = await harness.client(srv);
      const [socket] = await ftp.ntransfercmd("RETR /small.txt");
      socket.resume();
      await allSent;
      const aborted = ftp.abort();
      const pwd = ftp.pwd();
      expect(await aborted).to.equal("225 No transfer to abort.");
      expect(await pwd).to.equal("/");
      await expectInSync(ftp);
    });

    it("through a stream: the download ends (it got its 226), abort() resolves to the 225, the next command gets its own reply", async () => {
      const allSent = finishedBeforeAbor();
      const ftp = await harness.client(srv);
      const download = ftp.retrbinary("RETR /small.txt");
      const body = collectAll(download);
      await allSent;
      const aborted = ftp.abort();
      const pwd = ftp.pwd();
      expect(await aborted).to.equal("225 No transfer to abort.");
      expect(await pwd).to.equal("/");
      expect((await body).toString()).to.equal("all of it");
      await expectInSync(ftp);
    });

    it("426 for the transfer, then ABOR's 226 late: the next command still gets its own reply", async () => {
      srv.handle("ABOR", async (s) => {
        // The client closes the data connection before it sends ABOR, so
        // the transfer may have failed (426) by the time ABOR is read.
        const cut = s.abortTransfer();
        if (cut) await s.waitForRunningCommand();
        await s.sleep(50);
        s.reply(cut ? 226 : 225, cut ? "ABOR successful." : "No transfer to abort.");
      });
      const ftp = await harness.client(srv);
      const download = ftp.retrbinary("RETR /big.bin");
      const failed = streamError(download);
      await readAtLeast(download, MiB);
      const aborted = ftp.abort();
      const pwd = ftp.pwd();
      expect(await aborted).to.match(/^22[56] /);
      expect(await pwd).to.equal("/");
      const error = await failed;
      expect(error).to.be.instanceOf(FtpTempError);
      expect((error as FtpTempError).replyCode).to.equal(426);
      await expectInSync(ftp);
    });
  });

  it("sends the NOOP that marks the end of ABOR's replies only after ABOR's first reply (pure-ftpd throws away what comes with ABOR)", async () => {
    // Server, as pure-ftpd mid-transfer: the transfer ends with no reply of
    // its own; ABOR gets 426 and 226 after a pause, by which time a NOOP
    // written along with ABOR would have arrived (and pure-ftpd lost it).
    srv.once("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      async function* endless(): AsyncGenerator<Buffer> {
        for (let at = 0; !s.abortRequested; at += 64 * 1024) yield patternBytes(at, 64 * 1024);
      }
      await s.sendData(Readable.from(endless())).catch(() => undefined);
    });
    let noopBeforeReply: boolean | undefined;
    srv.once("ABOR", async (s) => {
      s.abortTransfer();
      await s.waitForRunningCommand();
      await s.sleep(50);
      noopBeforeReply = srv.commands.slice(srv.commands.lastIndexOf("ABOR")).includes("NOOP");
      s.reply(426, "ABORT");
      s.reply(226, "Aborted.");
    });
    const ftp = await harness.client(srv);
    const download = ftp.retrbinary("RETR /endless.bin");
    const failed = streamError(download);
    await readAtLeast(download, 64 * 1024);
    download.destroy();
    expect(await failed).to.equal(undefined);
    expect(await ftp.pwd()).to.equal("/");
    expect(noopBeforeReply, "NOOP arrived before ABOR's reply").to.equal(false);
    expect(srv.commands.slice(srv.commands.lastIndexOf("ABOR"))).to.deep.equal(["ABOR", "NOOP", "PWD"]);
    await expectInSync(ftp);
  });

  it("a stream aborted by abort() errors with the transfer's 426, never ends", async () => {
    const ftp = await harness.client(srv);
    const download = ftp.retrbinary("RETR /big.bin");
    const failed = streamError(download);
    await readAtLeast(download, MiB);
    await ftp.abort();
    const error = await failed;
    expect(error).to.be.instanceOf(FtpTempError);
    expect((error as FtpTempError).replyCode).to.equal(426);
    await expectInSync(ftp);
  });
});
