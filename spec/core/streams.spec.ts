import type net from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import { patternBytes, patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { DownloadStream, FtpClosedError, FtpPermError, FtpTempError, UploadStream } from "../../lib/index.js";
import { commandsAfterLogin, gate, rejectionOf, until, useFixtures } from "./helpers.js";

const MiB = 1024 * 1024;

/**
 * A full GC, so process.memoryUsage().arrayBuffers counts live buffers only
 * rather than chunks already consumed but not yet collected.
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    gc();
    gc();
  };
})();

function liveArrayBuffers(): number {
  collectGarbage();
  return process.memoryUsage().arrayBuffers;
}

/** The download's data socket, once open: the one buffer besides the stream's own that we can see. */
function dataSocketOf(stream: DownloadStream): net.Socket | undefined {
  return (stream as unknown as { download: { transfer?: { socket: net.Socket } } }).download.transfer?.socket;
}

/** Records the events a stream emits, in order, and the error if any. */
function watch(stream: Readable | Writable): { events: string[]; error: () => Error | undefined } {
  const events: string[] = [];
  let error: Error | undefined;
  for (const name of ["end", "finish", "close"]) stream.on(name, () => events.push(name));
  stream.on("error", (e: Error) => {
    events.push("error");
    error = e;
  });
  return { events, error: () => error };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** RETR that sends `data`, then (after the data connection closed) the given final reply. */
function retrThenReply(srv: FixtureServer, data: Buffer, code: number, text: string, log?: string[]): void {
  srv.handle("RETR", async (s) => {
    s.reply(150, `Opening BINARY mode data connection (${data.length} bytes).`);
    await s.sendData(data);
    log?.push("data connection closed");
    await s.sleep(50);
    log?.push(`${code} sent`);
    s.reply(code, text);
  });
}

describe("transfer streams", function () {
  const fixtures = useFixtures();

  describe("retrbinary as a Readable", function () {
    it("keeps data and the data connection's close that arrive before the 150", async function () {
      // A download's socket starts paused (lib/data.ts, SlabReader): what the
      // server sends and closes before its 150 must still be read afterwards.
      const srv = await fixtures.server();
      srv.handle("RETR", async (s) => {
        // Sent and closed (FIN) at once; the fixture then waits for our close.
        const sent = s.sendData("early bytes");
        await s.sleep(50);
        s.reply(150, "Here it comes.");
        await sent;
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /f.bin");
      expect((await collect(stream)).toString()).to.equal("early bytes");
      expect(stream.response).to.equal("226 Transfer complete.");
    });

    it("hands out chunks that stay as they were, kept across many downloads on one connection", async function () {
      // Downloads read into slabs shared by the session's transfers (lib/data.ts):
      // a chunk kept by the consumer must never be written again by a later read.
      const sizes = [1, 4096, 5000, 16_384, 70_000, 3, 300_000, 65_536, 12_345, 0, 200_000];
      // Each file from its own offset of the pattern, so bytes of one in another show.
      const offset = (i: number): number => i * 7919;
      const files: Record<string, Buffer> = {};
      sizes.forEach((size, i) => (files[`/f${i}.bin`] = patternBytes(offset(i), size)));
      const srv = await fixtures.server({ files });
      const ftp = await fixtures.client(srv);
      const kept: Buffer[][] = [];
      for (let i = 0; i < sizes.length; i++) {
        const chunks: Buffer[] = [];
        for await (const chunk of ftp.retrbinary(`RETR /f${i}.bin`)) chunks.push(chunk as Buffer);
        kept.push(chunks);
      }
      sizes.forEach((size, i) => {
        const data = Buffer.concat(kept[i]);
        expect(data.length, `f${i}.bin`).to.equal(size);
        expect(patternMismatch(data, offset(i)), `f${i}.bin`).to.equal(-1);
      });
    });

    it("streams the file's bytes and ends only after the data connection closed and the 226 arrived", async function () {
      const srv = await fixtures.server();
      const log: string[] = [];
      const data = patternBytes(0, 300_000);
      retrThenReply(srv, data, 226, "Transfer complete.", log);
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /f.bin");
      expect(stream).to.be.instanceOf(DownloadStream);
      stream.on("end", () => log.push(`end, response ${stream.response}`));
      const received = await collect(stream);
      expect(received.equals(data)).to.equal(true);
      expect(log).to.deep.equal(["data connection closed", "226 sent", "end, response 226 Transfer complete."]);
      expect(stream.bytes).to.equal(300_000);
      expect(stream.expectedSize).to.equal(300_000);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /f.bin"]);
    });

    it("resumes from rest with REST before RETR", async function () {
      const srv = await fixtures.server({ files: { "/f.bin": patternFile(100_000) } });
      const ftp = await fixtures.client(srv);
      const received = await collect(ftp.retrbinary("RETR /f.bin", { rest: 99_000 }));
      expect(received.length).to.equal(1000);
      expect(patternMismatch(received, 99_000)).to.equal(-1);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "REST 99000", "RETR /f.bin"]);
    });

    it("errors instead of ending when the server replies 451 after all the data", async function () {
      const srv = await fixtures.server();
      const data = patternBytes(0, 200_000);
      retrThenReply(srv, data, 451, "Local error in processing.");
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /f.bin");
      const seen = watch(stream);
      const received: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => received.push(chunk));
      await until(() => stream.destroyed && seen.events.includes("close"), "the stream closing");
      expect(seen.error()).to.be.instanceOf(FtpTempError);
      expect(seen.error()).to.include({ code: "ERR_FTP_TEMP", replyCode: 451, response: "451 Local error in processing." });
      expect(seen.events).to.not.include("end");
      expect(stream.response).to.equal(undefined);
      // Every byte arrived, and still it is not a success.
      expect(Buffer.concat(received).equals(data)).to.equal(true);
      expect(await ftp.voidcmd("NOOP")).to.equal("200 NOOP ok.");
      await until(() => srv.openConnections() === 1, "only the control connection remaining");
    });

    it("rejects pipeline() with the 451, so a pipeline cannot look successful", async function () {
      const srv = await fixtures.server();
      retrThenReply(srv, patternBytes(0, 10_000), 451, "Local error in processing.");
      const ftp = await fixtures.client(srv);
      const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      const sinkSeen = watch(sink);
      const error = await rejectionOf(pipeline(ftp.retrbinary("RETR /f.bin"), sink));
      expect(error).to.be.instanceOf(FtpTempError);
      expect(sinkSeen.events).to.not.include("finish");
    });

    it("errors as soon as a 4xx comes while the data connection is still open", async function () {
      const srv = await fixtures.server();
      const held = gate();
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        const data = await s.openData();
        data.write(patternBytes(0, 1000));
        s.reply(426, "Connection closed; transfer aborted.");
        await held.passed;
        data.destroy();
      });
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /f.bin");
      const seen = watch(stream);
      stream.resume();
      try {
        await until(() => seen.error() !== undefined, "the stream erroring");
      } finally {
        held.open();
      }
      expect(seen.error()).to.be.instanceOf(FtpTempError);
      expect(seen.error()).to.include({ code: "ERR_FTP_TEMP", replyCode: 426 });
      expect(seen.events).to.not.include("end");
      expect(await ftp.pwd()).to.equal("/");
    });

    it("errors with FtpPermError, without data or end, when RETR gets 550", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /missing");
      const seen = watch(stream);
      let bytes = 0;
      stream.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      await until(() => seen.events.includes("close"), "the stream closing");
      expect(seen.error()).to.be.instanceOf(FtpPermError);
      expect(seen.error()).to.include({ code: "ERR_FTP_PERM", replyCode: 550, response: "550 Failed to open file." });
      expect(seen.events).to.deep.equal(["error", "close"]);
      expect(bytes).to.equal(0);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("keeps what is buffered within a few highWaterMarks while a slow consumer reads 64 MiB", async function () {
      this.timeout(30_000);
      const size = 64 * MiB;
      const highWaterMark = 64 * 1024;
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(size) } });
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /big.bin", { highWaterMark });
      const baseline = liveArrayBuffers();
      let received = 0;
      let chunks = 0;
      let mismatch = -1;
      let maxBuffered = 0;
      let maxArrayBuffers = 0;
      let socketPaused = false;
      let spied = false;
      const sink = new Writable({
        highWaterMark: 1,
        write(chunk: Buffer, _encoding, callback) {
          if (mismatch === -1) {
            const at = patternMismatch(chunk, received);
            if (at !== -1) mismatch = received + at;
          }
          received += chunk.length;
          const socket = dataSocketOf(stream);
          maxBuffered = Math.max(maxBuffered, stream.readableLength + (socket?.readableLength ?? 0));
          socketPaused ||= socket?.isPaused() ?? false;
          if (socket && !spied) {
            // A data socket that reads into slabs (lib/data.ts) keeps no
            // buffer of its own and is resumed as soon as the stream drops
            // below its highWaterMark, before that chunk gets here: look at
            // the buffers when the socket is paused, too.
            spied = true;
            const pause = socket.pause.bind(socket);
            socket.pause = () => {
              socketPaused = true;
              maxBuffered = Math.max(maxBuffered, stream.readableLength + socket.readableLength);
              return pause();
            };
          }
          if (++chunks % 32 === 0) {
            if (chunks % 64 === 0) maxArrayBuffers = Math.max(maxArrayBuffers, liveArrayBuffers() - baseline);
            // The slow part: a timer turn every 32 chunks lets the server race ahead.
            setTimeout(callback, 1);
          } else {
            setImmediate(callback);
          }
        },
      });
      await pipeline(stream, sink);
      expect(received).to.equal(size);
      expect(mismatch).to.equal(-1);
      expect(stream.response).to.equal("226 Transfer complete.");
      // The consumer really was the bottleneck: the buffers filled and the socket was paused...
      expect(socketPaused, "data socket paused at least once").to.equal(true);
      expect(maxBuffered).to.be.at.least(highWaterMark);
      // ...yet they never held more than a few highWaterMarks, of a 64 MiB file.
      expect(maxBuffered).to.be.at.most(4 * highWaterMark);
      // So do the live ArrayBuffers of the whole process, in-process fixture included.
      expect(maxArrayBuffers).to.be.at.most(16 * highWaterMark);
    });

    it("destroying the stream mid-transfer aborts it and leaves the client usable", async function () {
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(32 * MiB) } });
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /big.bin");
      const seen = watch(stream);
      await new Promise<void>((resolve) => stream.once("data", () => resolve()));
      stream.destroy();
      expect(await ftp.pwd()).to.equal("/");
      expect(seen.events).to.not.include("end");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /big.bin", "ABOR", "NOOP", "PWD"]);
      await until(() => srv.openConnections() === 1, "only the control connection remaining");
    });
  });

  describe("close() during a transfer", function () {
    it("errors a running download with FtpClosedError instead of ending it", async function () {
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(16 * MiB) } });
      const ftp = await fixtures.client(srv);
      const stream = ftp.retrbinary("RETR /big.bin");
      const seen = watch(stream);
      await new Promise<void>((resolve) => stream.once("data", () => resolve()));
      stream.pause();
      const queued = rejectionOf(ftp.pwd());
      ftp.close();
      await until(() => seen.events.includes("close"), "the stream closing");
      expect(seen.error()).to.be.instanceOf(FtpClosedError);
      expect(seen.events).to.not.include("end");
      expect(await queued).to.be.instanceOf(FtpClosedError);
      await until(() => srv.openConnections() === 0, "every connection closing");
    });

    it("errors a running upload with FtpClosedError instead of finishing it", async function () {
      const srv = await fixtures.server({ discardUploads: true });
      const ftp = await fixtures.client(srv);
      const upload = ftp.storbinary("STOR /up.bin");
      const seen = watch(upload);
      const endless = new Readable({
        read() {
          this.push(patternBytes(0, 64 * 1024));
        },
      });
      const piped = pipeline(endless, upload);
      await until(() => upload.bytes > 0, "the upload starting");
      ftp.close();
      expect(await rejectionOf(piped)).to.be.instanceOf(FtpClosedError);
      expect(seen.events).to.not.include("finish");
      await until(() => srv.openConnections() === 0, "every connection closing");
    });
  });

  describe("retrlines as a stream of lines", function () {
    it("yields lines and errors, never ends, when the server replies 451 after the data", async function () {
      const srv = await fixtures.server();
      retrThenReply(srv, Buffer.from("one\r\ntwo\r\n"), 451, "Local error in processing.");
      const ftp = await fixtures.client(srv);
      const lines: string[] = [];
      const stream = ftp.retrlines("RETR /notes.txt");
      const seen = watch(stream);
      const error = await rejectionOf(
        (async () => {
          for await (const line of stream) lines.push(line as string);
        })(),
      );
      expect(error).to.be.instanceOf(FtpTempError);
      expect(lines).to.deep.equal(["one", "two"]);
      expect(seen.events).to.not.include("end");
    });
  });

  describe("storbinary as a Writable", function () {
    it("uploads every byte and finishes only after the server's 226", async function () {
      const srv = await fixtures.server();
      const log: string[] = [];
      let stored: Buffer = Buffer.alloc(0);
      srv.handle("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        stored = await s.receiveAll();
        log.push("data received");
        await s.sleep(50);
        log.push("226 sent");
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fixtures.client(srv);
      const upload = ftp.storbinary("STOR /up.bin");
      expect(upload).to.be.instanceOf(UploadStream);
      upload.on("finish", () => log.push(`finish, response ${upload.response}`));
      const data = patternBytes(0, 1 * MiB);
      await pipeline(Readable.from([data.subarray(0, 400_000), data.subarray(400_000)]), upload);
      expect(stored.equals(data)).to.equal(true);
      expect(log).to.deep.equal(["data received", "226 sent", "finish, response 226 Transfer complete."]);
      expect(upload.bytes).to.equal(MiB);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "STOR /up.bin"]);
    });

    it("errors instead of finishing when the server answers 552 after the data", async function () {
      const srv = await fixtures.server();
      srv.handle("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        await s.receiveAll();
        s.reply(552, "Requested file action aborted. Exceeded storage allocation.");
      });
      const ftp = await fixtures.client(srv);
      const upload = ftp.storbinary("STOR /up.bin");
      const seen = watch(upload);
      const error = await rejectionOf(pipeline(Readable.from([patternBytes(0, 100_000)]), upload));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({
        code: "ERR_FTP_PERM",
        replyCode: 552,
        response: "552 Requested file action aborted. Exceeded storage allocation.",
      });
      expect(seen.events).to.not.include("finish");
      expect(upload.response).to.equal(undefined);
      expect(await ftp.voidcmd("NOOP")).to.equal("200 NOOP ok.");
    });

    it("errors instead of finishing when the server answers 552 while the data connection is still open", async function () {
      const srv = await fixtures.server();
      const held = gate();
      srv.handle("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        const data = await s.openData();
        // Take a little, then stop reading and refuse: the client's writes back up.
        await new Promise((resolve) => data.once("readable", resolve));
        data.read();
        s.reply(552, "Exceeded storage allocation.");
        await held.passed;
        data.destroy();
      });
      const ftp = await fixtures.client(srv);
      const upload = ftp.storbinary("STOR /up.bin");
      const seen = watch(upload);
      // An endless source: only the server's refusal can stop this upload.
      const endless = new Readable({
        read() {
          this.push(patternBytes(0, 64 * 1024));
        },
      });
      let error: Error;
      try {
        error = await rejectionOf(pipeline(endless, upload));
      } finally {
        held.open();
      }
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 552, response: "552 Exceeded storage allocation." });
      expect(seen.events).to.not.include("finish");
      expect(await ftp.pwd()).to.equal("/");
    });

    it("errors with FtpPermError when STOR is refused (553) before any data", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const upload = ftp.storbinary("STOR /no/such/dir/up.bin");
      const seen = watch(upload);
      const error = await rejectionOf(pipeline(Readable.from([Buffer.from("data")]), upload));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 553 });
      expect(seen.events).to.not.include("finish");
    });
  });

  describe("storlines as a Writable", function () {
    it("sends text with every line end as CRLF, in TYPE A", async function () {
      const srv = await fixtures.server();
      const wire: Buffer[] = [];
      srv.handle("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        wire.push(await s.receiveAll());
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fixtures.client(srv);
      const upload = ftp.storlines("STOR /notes.txt");
      upload.write("alpha\nbe");
      upload.write("ta\r");
      upload.write("\ngamma\n\nlast");
      upload.end();
      await new Promise<void>((resolve, reject) => {
        upload.on("finish", resolve);
        upload.on("error", reject);
      });
      expect(wire.map(String)).to.deep.equal(["alpha\r\nbeta\r\ngamma\r\n\r\nlast\r\n"]);
      expect(upload.response).to.equal("226 Transfer complete.");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "STOR /notes.txt"]);
    });
  });
});
