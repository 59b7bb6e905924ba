import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { PassThrough, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import sinon from "sinon";
import { patternBytes, patternFile, patternMismatch, type FixtureServer } from "../../fixtures/server.js";
import { FtpClosedError, FtpConnectionError, FtpPermError, FtpTempError, type TransferProgress } from "../../lib/index.js";
import { commandsAfterLogin, gate, rejectionOf, until, useFixtures } from "./helpers.js";

/** Lines as the fixture's ls -l would print them, without the date columns that depend on today. */
function names(lines: string[]): string[] {
  return lines.map((line) => line.split(/\s+/).slice(8).join(" "));
}

/** Serves `bytes` verbatim on the data connection of every RETR (no ASCII conversion). */
function serveRaw(srv: FixtureServer, bytes: string | Buffer): void {
  srv.handle("RETR", async (s) => {
    s.reply(150, "Here it comes.");
    await s.sendData(bytes);
    s.reply(226, "Transfer complete.");
  });
}

/** Every RETR sends 5000 bytes, then ends with 451 instead of 226. */
function failAfterData(srv: FixtureServer): void {
  srv.handle("RETR", async (s) => {
    s.reply(150, "Here it comes.");
    await s.sendData(patternBytes(0, 5000));
    s.reply(451, "Local error in processing.");
  });
}

/** Captures the raw bytes of every STOR as they crossed the wire. */
function captureStor(srv: FixtureServer): Buffer[] {
  const uploads: Buffer[] = [];
  srv.handle("STOR", async (s) => {
    s.reply(150, "Ok to send data.");
    uploads.push(await s.receiveAll());
    s.reply(226, "Transfer complete.");
  });
  return uploads;
}

describe("transfers, ftplib's forms", function () {
  const fixtures = useFixtures();

  describe("TYPE once per run of transfers", function () {
    it("sends TYPE only when the server may be in another type: after a different one, sendcmd TYPE, or a new login", async function () {
      const srv = await fixtures.server({ files: { "/a.bin": "a", "/b.txt": "b\n" } });
      const ftp = await fixtures.client(srv);
      await ftp.retrbinary("RETR /a.bin", () => undefined);
      await ftp.retrbinary("RETR /a.bin", () => undefined);
      await ftp.retrlines("RETR /b.txt", () => undefined);
      await ftp.retrbinary("RETR /a.bin", () => undefined);
      await ftp.sendcmd("TYPE A");
      await ftp.retrbinary("RETR /a.bin", () => undefined);
      await ftp.login("user", "pass");
      await ftp.retrbinary("RETR /a.bin", () => undefined);
      expect(commandsAfterLogin(srv).filter((line) => line !== "EPSV")).to.deep.equal([
        "TYPE I",
        "RETR /a.bin",
        "RETR /a.bin",
        "TYPE A",
        "RETR /b.txt",
        "TYPE I",
        "RETR /a.bin",
        "TYPE A",
        "TYPE I",
        "RETR /a.bin",
        "USER user",
        "PASS pass",
        "TYPE I",
        "RETR /a.bin",
      ]);
    });
  });

  describe("retrbinary with a callback", function () {
    it("hands over blocks of at most blocksize and resolves to the final reply", async function () {
      const srv = await fixtures.server({ files: { "/data.bin": patternFile(200_000) } });
      const ftp = await fixtures.client(srv);
      const blocks: Buffer[] = [];
      const reply = await ftp.retrbinary("RETR /data.bin", (block) => blocks.push(block), { blocksize: 1000 });
      expect(reply).to.equal("226 Transfer complete.");
      expect(blocks.every((block) => block.length > 0 && block.length <= 1000)).to.equal(true);
      const data = Buffer.concat(blocks);
      expect(data.length).to.equal(200_000);
      expect(patternMismatch(data)).to.equal(-1);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /data.bin"]);
    });

    it("takes ftplib's positional blocksize and rest, sending REST first", async function () {
      const srv = await fixtures.server({ files: { "/data.bin": patternFile(50_000) } });
      const ftp = await fixtures.client(srv);
      const blocks: Buffer[] = [];
      await ftp.retrbinary("RETR /data.bin", (block) => blocks.push(block), 4096, 30_000);
      const data = Buffer.concat(blocks);
      expect(data.length).to.equal(20_000);
      expect(patternMismatch(data, 30_000)).to.equal(-1);
      expect(blocks.every((block) => block.length <= 4096)).to.equal(true);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "REST 30000", "RETR /data.bin"]);
    });

    it("rejects a 550 with FtpPermError, closes the data connection and stays usable", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.retrbinary("RETR /missing", () => undefined));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550, response: "550 Failed to open file." });
      await until(() => srv.openConnections() === 1, "only the control connection remaining");
      expect(await ftp.pwd()).to.equal("/");
    });

    it("rejects with FtpTempError when the server sends 451 after all the data", async function () {
      const srv = await fixtures.server();
      failAfterData(srv);
      const ftp = await fixtures.client(srv);
      const blocks: Buffer[] = [];
      const error = await rejectionOf(ftp.retrbinary("RETR /f", (block) => blocks.push(block)));
      expect(error).to.be.instanceOf(FtpTempError);
      expect(error).to.include({ code: "ERR_FTP_TEMP", replyCode: 451, response: "451 Local error in processing." });
      expect(await ftp.voidcmd("NOOP")).to.equal("200 NOOP ok.");
    });
    it("rejects with the callback's own error when it throws, aborting the transfer; the client stays usable", async function () {
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(16 * 1024 * 1024) } });
      const ftp = await fixtures.client(srv);
      const failure = new Error("callback failed");
      const error = await rejectionOf(
        ftp.retrbinary("RETR /big.bin", () => {
          throw failure;
        }),
      );
      expect(error).to.equal(failure);
      expect(await ftp.pwd()).to.equal("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /big.bin", "ABOR", "NOOP", "PWD"]);
      await until(() => srv.openConnections() === 1, "only the control connection remaining");
    });
  });

  describe("retrbinary into a Writable", function () {
    /** A Writable that keeps what it is given, and records whether it finished. */
    function collector(): Writable & { chunks: Buffer[]; finishedAt?: number } {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      });
      return Object.assign(sink, { chunks });
    }

    it("pipes every byte, finishes the destination only after the final reply, and resolves to it", async function () {
      const srv = await fixtures.server();
      const replyHeld = gate();
      let dataSent = false;
      srv.handle("RETR", async (s) => {
        s.reply(150, "Here it comes.");
        await s.sendData(patternBytes(0, 300_000));
        dataSent = true;
        await replyHeld.passed;
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fixtures.client(srv);
      const sink = collector();
      let finished = false;
      sink.on("finish", () => (finished = true));
      const reply = ftp.retrbinary("RETR /f", sink);
      await until(() => dataSent, "the server sending all the data");
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(finished, "finished before the 226").to.equal(false);
      replyHeld.open();
      expect(await reply).to.equal("226 Transfer complete.");
      expect(finished).to.equal(true);
      const data = Buffer.concat(sink.chunks);
      expect(data.length).to.equal(300_000);
      expect(patternMismatch(data)).to.equal(-1);
    });

    it("ends process.stdout too, which pipe() alone never ends, so the call resolves", async function () {
      const srv = await fixtures.server({ files: { "/notes.txt": "one\ntwo\n" } });
      const library = new URL("../../lib/index.js", import.meta.url).href;
      const script = `
        import { FTP } from ${JSON.stringify(library)};
        const ftp = new FTP({ timeout: 5000 });
        await ftp.connect("${srv.host}", ${srv.port});
        await ftp.login("user", "pass");
        const reply = await ftp.retrbinary("RETR /notes.txt", process.stdout);
        ftp.close();
        process.stderr.write(reply);
      `;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
      const [code] = (await once(child, "close")) as [number | null];
      expect(Buffer.concat(err).toString()).to.equal("226 Transfer complete.");
      expect(code).to.equal(0);
      expect(Buffer.concat(out).toString()).to.equal("one\ntwo\n");
    });

    it("passes the download options on: rest sends REST first", async function () {
      const srv = await fixtures.server({ files: { "/data.bin": patternFile(50_000) } });
      const ftp = await fixtures.client(srv);
      const sink = collector();
      await ftp.retrbinary("RETR /data.bin", sink, { rest: 30_000 });
      const data = Buffer.concat(sink.chunks);
      expect(data.length).to.equal(20_000);
      expect(patternMismatch(data, 30_000)).to.equal(-1);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "REST 30000", "RETR /data.bin"]);
    });

    it("on a 451 after all the data, destroys the destination with the FtpTempError and never finishes it", async function () {
      const srv = await fixtures.server();
      failAfterData(srv);
      const ftp = await fixtures.client(srv);
      const sink = collector();
      let finished = false;
      sink.on("finish", () => (finished = true));
      const error = await rejectionOf(ftp.retrbinary("RETR /f", sink));
      expect(error).to.be.instanceOf(FtpTempError);
      expect(error).to.include({ code: "ERR_FTP_TEMP", replyCode: 451 });
      await until(() => sink.destroyed, "the destination being destroyed");
      expect(sink.errored).to.equal(error);
      expect(finished).to.equal(false);
      expect(await ftp.voidcmd("NOOP")).to.equal("200 NOOP ok.");
    });

    it("rejects with the destination's own error, aborting the transfer; the client stays usable", async function () {
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(16 * 1024 * 1024) } });
      const ftp = await fixtures.client(srv);
      const failure = new Error("disk full");
      // No 'error' listener of the spec's own: the failure must reach the promise, not the process.
      const sink = new Writable({
        write(_chunk, _encoding, callback) {
          callback(failure);
        },
      });
      const error = await rejectionOf(ftp.retrbinary("RETR /big.bin", sink));
      expect(error).to.equal(failure);
      expect(await ftp.pwd()).to.equal("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /big.bin", "ABOR", "NOOP", "PWD"]);
      await until(() => srv.openConnections() === 1, "only the control connection remaining");
    });

    it("rejects a 550 with FtpPermError and destroys the destination", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const sink = collector();
      const error = await rejectionOf(ftp.retrbinary("RETR /missing", sink));
      expect(error).to.be.instanceOf(FtpPermError);
      await until(() => sink.destroyed, "the destination being destroyed");
      expect(sink.chunks).to.deep.equal([]);
    });
  });

  describe("retrbinary's promise forms queued behind a transfer", function () {
    /** Every RETR sends 1000 bytes; the one of /front.bin holds its 226 until `held` opens. */
    function holdFront(srv: FixtureServer, held: { passed: Promise<void> }): void {
      srv.handle("RETR", async (s, arg) => {
        s.reply(150, "Here it comes.");
        await s.sendData(patternBytes(0, 1000));
        if (arg === "/front.bin") await held.passed;
        s.reply(226, "Transfer complete.");
      });
    }

    /** A Writable that takes anything. */
    function sink(): Writable {
      return new Writable({ write: (_chunk, _encoding, callback) => callback() });
    }

    /** Calls `queued` behind a RETR of /front.bin whose 226 is held; resolves, with the front still running, to the queued call's error, then lets the front end. */
    async function failedWhileQueued(
      pipelining: boolean,
      queued: (ftp: Awaited<ReturnType<typeof fixtures.client>>) => { call: Promise<string>; fail: () => void },
    ): Promise<{ error: Error; srv: FixtureServer; ftp: Awaited<ReturnType<typeof fixtures.client>> }> {
      const srv = await fixtures.server();
      const held = gate();
      holdFront(srv, held);
      const ftp = await fixtures.client(srv, { pipelining });
      const front = ftp.retrbinary("RETR /front.bin", sink());
      const { call, fail } = queued(ftp);
      let error: Error | undefined;
      call.then(
        () => undefined,
        (reason: Error) => (error = reason),
      );
      await until(() => srv.commands.includes("RETR /front.bin"), "the transfer in front starting");
      fail();
      // Before its turn: the transfer in front still waits for its 226.
      await until(() => error !== undefined, "the queued call rejecting while the transfer in front runs");
      held.open();
      expect(await front).to.equal("226 Transfer complete.");
      expect(await ftp.pwd()).to.equal("/");
      return { error: error!, srv, ftp };
    }

    for (const pipelining of [false, true]) {
      describe(pipelining ? "pipelining" : "one at a time", function () {
        it("a queued Writable destroyed with an error rejects with it at once, and its RETR is never sent", async function () {
          const failure = new Error("disk gone");
          const destination = sink();
          const { error, srv } = await failedWhileQueued(pipelining, (ftp) => ({
            call: ftp.retrbinary("RETR /queued.bin", destination),
            fail: () => destination.destroy(failure),
          }));
          expect(error).to.equal(failure);
          expect(commandsAfterLogin(srv).filter((line) => line.startsWith("RETR"))).to.deep.equal(["RETR /front.bin"]);
        });

        it("a queued Writable ended by someone else rejects at once with ERR_STREAM_PREMATURE_CLOSE, and its RETR is never sent", async function () {
          const destination = sink();
          const { error, srv } = await failedWhileQueued(pipelining, (ftp) => ({
            call: ftp.retrbinary("RETR /queued.bin", destination),
            fail: () => destination.end(),
          }));
          expect(error).to.include({ code: "ERR_STREAM_PREMATURE_CLOSE" });
          expect(commandsAfterLogin(srv).filter((line) => line.startsWith("RETR"))).to.deep.equal(["RETR /front.bin"]);
        });

        for (const form of ["callback", "Writable"] as const) {
          it(`${form} form: aborting the signal of a queued call rejects it at once with an AbortError, and its RETR is never sent`, async function () {
            const controller = new AbortController();
            const destination = sink();
            destination.on("error", () => undefined);
            const { error, srv } = await failedWhileQueued(pipelining, (ftp) => ({
              call:
                form === "callback"
                  ? ftp.retrbinary("RETR /queued.bin", () => undefined, { signal: controller.signal })
                  : ftp.retrbinary("RETR /queued.bin", destination, { signal: controller.signal }),
              fail: () => controller.abort(),
            }));
            expect(error).to.include({ name: "AbortError", code: "ABORT_ERR" });
            if (form === "Writable") expect(destination.errored).to.equal(error);
            expect(commandsAfterLogin(srv).filter((line) => line.startsWith("RETR"))).to.deep.equal(["RETR /front.bin"]);
          });
        }

        it("close() rejects both queued forms with FtpClosedError and destroys the queued Writable with it", async function () {
          const srv = await fixtures.server();
          const held = gate();
          holdFront(srv, held);
          const ftp = await fixtures.client(srv, { pipelining });
          const front = ftp.retrbinary("RETR /front.bin", sink());
          const destination = sink();
          destination.on("error", () => undefined);
          const intoWritable = ftp.retrbinary("RETR /queued.bin", destination);
          const toCallback = ftp.retrbinary("RETR /queued.bin", () => undefined);
          await until(() => srv.commands.includes("RETR /front.bin"), "the transfer in front starting");
          ftp.close();
          for (const call of [front, intoWritable, toCallback]) expect(await rejectionOf(call)).to.be.instanceOf(FtpClosedError);
          expect(destination.errored).to.be.instanceOf(FtpClosedError);
          expect(commandsAfterLogin(srv).filter((line) => line.startsWith("RETR"))).to.deep.equal(["RETR /front.bin"]);
          held.open();
        });

        it("queued calls whose turn comes deliver every byte, in call order", async function () {
          const srv = await fixtures.server();
          const held = gate();
          holdFront(srv, held);
          const ftp = await fixtures.client(srv, { pipelining });
          const front = ftp.retrbinary("RETR /front.bin", sink());
          // [which call, bytes it got], as each settles.
          const settled: [number, number][] = [];
          const calls = [1, 2, 3].map(async (n) => {
            let bytes = 0;
            const take = (chunk: Buffer): void => void (bytes += chunk.length);
            const counted = new Writable({
              write(chunk: Buffer, _encoding, callback) {
                take(chunk);
                callback();
              },
            });
            const reply = await (n === 2 ? ftp.retrbinary(`RETR /q${n}.bin`, take) : ftp.retrbinary(`RETR /q${n}.bin`, counted));
            settled.push([n, bytes]);
            return reply;
          });
          held.open();
          expect(await front).to.equal("226 Transfer complete.");
          expect(await Promise.all(calls)).to.deep.equal(["226 Transfer complete.", "226 Transfer complete.", "226 Transfer complete."]);
          expect(settled).to.deep.equal([
            [1, 1000],
            [2, 1000],
            [3, 1000],
          ]);
          expect(commandsAfterLogin(srv).filter((line) => line.startsWith("RETR"))).to.deep.equal([
            "RETR /front.bin",
            "RETR /q1.bin",
            "RETR /q2.bin",
            "RETR /q3.bin",
          ]);
        });
      });
    }
  });

  describe("retrbinary's promise forms deliver straight from the data connection", function () {
    it("a slow Writable pauses the data connection: what waits in it stays within a few reads", async function () {
      const size = 32 * 1024 * 1024;
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(size) } });
      const ftp = await fixtures.client(srv);
      let received = 0;
      let mismatch = -1;
      let mostBuffered = 0;
      let writes = 0;
      const sink = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _encoding, callback) {
          if (mismatch === -1) {
            const at = patternMismatch(chunk, received);
            if (at !== -1) mismatch = received + at;
          }
          received += chunk.length;
          // The slow part: a timer turn now and then lets the server race ahead.
          if (++writes % 16 === 0) setTimeout(callback, 1);
          else setImmediate(callback);
        },
      });
      const write = sink.write.bind(sink);
      sink.write = ((chunk: Buffer) => {
        const more = write(chunk);
        mostBuffered = Math.max(mostBuffered, sink.writableLength);
        return more;
      }) as typeof sink.write;
      expect(await ftp.retrbinary("RETR /big.bin", sink, { highWaterMark: 64 * 1024 })).to.equal("226 Transfer complete.");
      expect(received).to.equal(size);
      expect(mismatch).to.equal(-1);
      // Without backpressure the in-process fixture would fill the Writable with most of the 32 MiB.
      expect(mostBuffered).to.be.at.least(64 * 1024);
      expect(mostBuffered).to.be.at.most(4 * 64 * 1024);
    });

    it("a Writable ended by someone else mid-download: rejects with ERR_STREAM_PREMATURE_CLOSE, aborts the transfer, the client stays usable", async function () {
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(16 * 1024 * 1024) } });
      const ftp = await fixtures.client(srv);
      let writes = 0;
      const sink: Writable = new Writable({
        write(_chunk, _encoding, callback) {
          if (++writes === 2) sink.end();
          callback();
        },
      });
      const error = await rejectionOf(ftp.retrbinary("RETR /big.bin", sink));
      expect(error).to.include({ code: "ERR_STREAM_PREMATURE_CLOSE" });
      expect(await ftp.pwd()).to.equal("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /big.bin", "ABOR", "NOOP", "PWD"]);
      await until(() => srv.openConnections() === 1, "only the control connection remaining");
    });

    it("resolves only once a Writable that emits 'close' has closed (a file's descriptor is closed by then)", async function () {
      const srv = await fixtures.server({ files: { "/f.bin": patternFile(10_000) } });
      const ftp = await fixtures.client(srv);
      let closeCalled = false;
      const sink = new Writable({
        write: (_chunk, _encoding, callback) => callback(),
        // Closing takes a while, as a file's close(2) may: the call must wait for it.
        destroy(error, callback) {
          setTimeout(() => {
            closeCalled = true;
            callback(error);
          }, 20);
        },
      });
      expect(await ftp.retrbinary("RETR /f.bin", sink)).to.equal("226 Transfer complete.");
      expect(closeCalled).to.equal(true);
      expect(sink.closed).to.equal(true);
    });

    it("resolves on 'finish' for a Writable that emits no 'close', and for a Duplex", async function () {
      const srv = await fixtures.server({ files: { "/f.bin": patternFile(10_000) } });
      const ftp = await fixtures.client(srv);
      const noClose = new Writable({ emitClose: false, write: (_chunk, _encoding, callback) => callback() });
      expect(await ftp.retrbinary("RETR /f.bin", noClose)).to.equal("226 Transfer complete.");
      expect(noClose.writableFinished).to.equal(true);
      const duplex = new PassThrough();
      duplex.resume();
      expect(await ftp.retrbinary("RETR /f.bin", duplex)).to.equal("226 Transfer complete.");
      expect(duplex.writableFinished).to.equal(true);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("a Writable destroyed without an error mid-download: rejects with ERR_STREAM_PREMATURE_CLOSE, aborts the transfer, the client stays usable", async function () {
      const srv = await fixtures.server({ files: { "/big.bin": patternFile(16 * 1024 * 1024) } });
      const ftp = await fixtures.client(srv);
      let writes = 0;
      const sink: Writable = new Writable({
        write(_chunk, _encoding, callback) {
          if (++writes === 2) sink.destroy();
          callback();
        },
      });
      const error = await rejectionOf(ftp.retrbinary("RETR /big.bin", sink));
      expect(error).to.include({ code: "ERR_STREAM_PREMATURE_CLOSE" });
      expect(await ftp.pwd()).to.equal("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /big.bin", "ABOR", "NOOP", "PWD"]);
    });

    it("a Writable already destroyed: rejects and sends no transfer", async function () {
      const srv = await fixtures.server({ files: { "/f.bin": patternFile(1000) } });
      const ftp = await fixtures.client(srv);
      const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      sink.on("error", () => undefined);
      sink.destroy(new Error("gone"));
      const error = await rejectionOf(ftp.retrbinary("RETR /f.bin", sink));
      expect(error.message).to.equal("gone");
      expect(await ftp.pwd()).to.equal("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["PWD"]);
    });

    for (const form of ["callback", "Writable"] as const) {
      it(`${form} form: aborting the signal mid-download rejects with an AbortError and aborts the transfer`, async function () {
        const srv = await fixtures.server({ files: { "/big.bin": patternFile(16 * 1024 * 1024) } });
        const ftp = await fixtures.client(srv);
        const controller = new AbortController();
        let bytes = 0;
        const take = (chunk: Buffer): void => {
          bytes += chunk.length;
          if (bytes > 100_000) controller.abort();
        };
        const sink = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            take(chunk);
            callback();
          },
        });
        const call =
          form === "callback"
            ? ftp.retrbinary("RETR /big.bin", take, { signal: controller.signal })
            : ftp.retrbinary("RETR /big.bin", sink, { signal: controller.signal });
        const error = await rejectionOf(call);
        expect(error.name).to.equal("AbortError");
        expect(await ftp.pwd()).to.equal("/");
        expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /big.bin", "ABOR", "NOOP", "PWD"]);
      });
    }

    for (const form of ["callback", "Writable"] as const) {
      it(`${form} form: a signal already aborted rejects with an AbortError, and no transfer is sent`, async function () {
        const srv = await fixtures.server({ files: { "/f.bin": patternFile(1000) } });
        const ftp = await fixtures.client(srv);
        const signal = AbortSignal.abort(new Error("not wanted"));
        const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
        const call =
          form === "callback"
            ? ftp.retrbinary("RETR /f.bin", () => undefined, { signal })
            : ftp.retrbinary("RETR /f.bin", sink, { signal });
        const error = await rejectionOf(call);
        expect(error).to.include({ name: "AbortError", code: "ABORT_ERR" });
        expect((error as Error & { cause?: Error }).cause?.message).to.equal("not wanted");
        expect(await ftp.pwd()).to.equal("/");
        expect(commandsAfterLogin(srv)).to.deep.equal(["PWD"]);
      });

      it(`${form} form: onProgress is told the bytes as they come, and all of them with the announced size at the end`, async function () {
        const size = 3 * 1024 * 1024;
        const srv = await fixtures.server({ files: { "/big.bin": patternFile(size) } });
        const ftp = await fixtures.client(srv);
        const seen: TransferProgress[] = [];
        const onProgress = (progress: TransferProgress): void => void seen.push(progress);
        const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
        if (form === "callback") await ftp.retrbinary("RETR /big.bin", () => undefined, { onProgress });
        else await ftp.retrbinary("RETR /big.bin", sink, { onProgress });
        expect(seen.length).to.be.at.least(1);
        expect(seen[seen.length - 1]).to.include({ bytes: size, total: size });
        const counts = seen.map((progress) => progress.bytes);
        expect(counts).to.deep.equal([...counts].sort((a, b) => a - b));
      });
    }

    it("refuses a highWaterMark that is not a non-negative integer before sending anything", async function () {
      const srv = await fixtures.server({ files: { "/f.bin": patternFile(1000) } });
      const ftp = await fixtures.client(srv);
      const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      expect(await rejectionOf(ftp.retrbinary("RETR /f.bin", sink, { highWaterMark: -1 }))).to.be.instanceOf(RangeError);
      expect(await rejectionOf(ftp.retrbinary("RETR /f.bin", () => undefined, { highWaterMark: 1.5 }))).to.be.instanceOf(RangeError);
      expect(commandsAfterLogin(srv)).to.deep.equal([]);
    });
  });

  describe("retrlines", function () {
    it("calls back per line with TYPE A, line ends stripped and a last line without newline kept", async function () {
      const srv = await fixtures.server({ files: { "/notes.txt": "alpha\nbeta\n\ngamma \u00e9t\u00e9\nno newline at the end" } });
      const ftp = await fixtures.client(srv);
      const lines: string[] = [];
      expect(await ftp.retrlines("RETR /notes.txt", (line) => lines.push(line))).to.equal("226 Transfer complete.");
      expect(lines).to.deep.equal(["alpha", "beta", "", "gamma \u00e9t\u00e9", "no newline at the end"]);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "RETR /notes.txt"]);
    });

    it("splits CRLF, LF and lone CR line ends as ftplib's universal newlines do", async function () {
      const srv = await fixtures.server();
      serveRaw(srv, "a\r\nb\nc\rd\r\n\r\ne");
      const ftp = await fixtures.client(srv);
      const lines: string[] = [];
      await ftp.retrlines("RETR /raw", (line) => lines.push(line));
      expect(lines).to.deep.equal(["a", "b", "c", "d", "", "e"]);
    });

    it("returns a stream of lines without a callback", async function () {
      const srv = await fixtures.server({ files: { "/notes.txt": "one\ntwo\nthree\n" } });
      const ftp = await fixtures.client(srv);
      const lines: string[] = [];
      for await (const line of ftp.retrlines("RETR /notes.txt")) lines.push(line as string);
      expect(lines).to.deep.equal(["one", "two", "three"]);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "RETR /notes.txt"]);
    });

    it("done() prints each line and resolves to the final reply, as ftplib's retrlines(cmd) does", async function () {
      const srv = await fixtures.server({ files: { "/notes.txt": "one\ntwo\n" } });
      const ftp = await fixtures.client(srv);
      const log = sinon.stub(console, "log");
      let reply: string;
      try {
        reply = await ftp.retrlines("RETR /notes.txt").done();
      } finally {
        log.restore();
      }
      expect(reply).to.equal("226 Transfer complete.");
      expect(log.args).to.deep.equal([["one"], ["two"]]);
    });

    it("rejects with FtpTempError for a missing path (450 to LIST)", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.retrlines("LIST /nowhere", () => undefined));
      expect(error).to.be.instanceOf(FtpTempError);
      expect(error).to.include({ code: "ERR_FTP_TEMP", replyCode: 450 });
    });
  });

  describe("storbinary", function () {
    it("uploads a Readable, calling back per block of at most blocksize, and resolves to the 226", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const data = patternBytes(0, 100_000);
      const blocks: Buffer[] = [];
      const reply = await ftp.storbinary("STOR /up.bin", Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]), {
        blocksize: 8192,
        callback: (block) => blocks.push(Buffer.from(block)),
      });
      expect(reply).to.equal("226 Transfer complete.");
      expect(srv.vfs.get("/up.bin")!.equals(data)).to.equal(true);
      expect(Buffer.concat(blocks).equals(data)).to.equal(true);
      expect(blocks.every((block) => block.length <= 8192)).to.equal(true);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "STOR /up.bin"]);
    });

    it("takes ftplib's positional blocksize, callback and rest", async function () {
      const srv = await fixtures.server({ files: { "/up.bin": patternBytes(0, 1000) } });
      const ftp = await fixtures.client(srv);
      const blocks: Buffer[] = [];
      await ftp.storbinary("STOR /up.bin", patternBytes(600, 900), 256, (block) => blocks.push(block), 600);
      expect(blocks.map((block) => block.length)).to.deep.equal([256, 256, 256, 132]);
      const stored = srv.vfs.get("/up.bin")!;
      expect(stored.length).to.equal(1500);
      expect(patternMismatch(stored)).to.equal(-1);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "REST 600", "STOR /up.bin"]);
    });

    it("uploads nothing, and resolves, from a Readable that has already ended", async function () {
      const srv = await fixtures.server();
      const uploads = captureStor(srv);
      const ftp = await fixtures.client(srv);
      const source = Readable.from(["read elsewhere"]);
      for await (const chunk of source) expect(chunk).to.equal("read elsewhere");
      expect(source.readableEnded).to.equal(true);
      expect(await ftp.storbinary("STOR /up.bin", source)).to.equal("226 Transfer complete.");
      expect(uploads).to.have.length(1);
      expect(uploads[0].length).to.equal(0);
    });

    it("a Buffer goes out as soon as the data connection is up, before the 1xx: a server may take it all and close first", async function () {
      // This server reads the whole upload before it sends its 150: a
      // client that waited for the 1xx before writing would wait forever.
      const srv = await fixtures.server();
      const received: Buffer[] = [];
      srv.handle("STOR", async (s) => {
        received.push(await s.receiveAll());
        s.reply(150, "Ok to send data.");
        s.reply(226, "Transfer complete.");
      });
      const ftp = await fixtures.client(srv, { timeout: 5000 });
      const bytes = patternBytes(0, 300_000);
      expect(await ftp.storbinary("STOR /up.bin", bytes)).to.equal("226 Transfer complete.");
      expect(received).to.have.length(1);
      expect(received[0].equals(bytes)).to.equal(true);
      expect(await ftp.pwd()).to.equal("/");
    });

    it("rejects a 553 with FtpPermError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.storbinary("STOR /no/such/dir/f", Buffer.from("x")));
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 553 });
      expect(await ftp.pwd()).to.equal("/");
    });
    it("rejects with the source's error when it fails midway, aborting the upload; the client stays usable", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const failure = new Error("source failed");
      const source = (async function* () {
        yield patternBytes(0, 100_000);
        throw failure;
      })();
      const error = await rejectionOf(ftp.storbinary("STOR /up.bin", source));
      expect(error).to.equal(failure);
      expect(await ftp.pwd()).to.equal("/");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "STOR /up.bin", "ABOR", "NOOP", "PWD"]);
    });
  });

  describe("storlines", function () {
    it("sends every line end as CRLF in TYPE A, calling back with each line as sent", async function () {
      const srv = await fixtures.server();
      const wire = captureStor(srv);
      const ftp = await fixtures.client(srv);
      const sent: string[] = [];
      const source = Readable.from([Buffer.from("one\ntwo\r"), Buffer.from("\nthr"), Buffer.from("ee\rfour")]);
      const reply = await ftp.storlines("STOR /notes.txt", source, (line) => sent.push(line.toString()));
      expect(reply).to.equal("226 Transfer complete.");
      expect(wire.map(String)).to.deep.equal(["one\r\ntwo\r\nthree\rfour\r\n"]);
      expect(sent).to.deep.equal(["one\r\n", "two\r\n", "three\rfour\r\n"]);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "STOR /notes.txt"]);
    });

    it("stores the text the server rebuilds from CRLF", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      await ftp.storlines("STOR /notes.txt", "alpha\nbeta\n\ngamma");
      expect(srv.vfs.get("/notes.txt")!.toString()).to.equal("alpha\nbeta\n\ngamma\n");
    });
    it("errors on a line longer than maxline, as ftplib does, and the client stays usable", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const error = await rejectionOf(ftp.storlines("STOR /notes.txt", Readable.from(["short\n", "y".repeat(5000), "y".repeat(5000)])));
      expect(error).to.include({ code: "ERR_FTP_LINE_TOO_LONG" });
      expect(await ftp.pwd()).to.equal("/");
    });
  });

  describe("mlsd", function () {
    it("yields [name, facts] with fact names lower-cased", async function () {
      const srv = await fixtures.server();
      srv.handle("MLSD", async (s) => {
        s.reply(150, "Here comes the directory listing.");
        await s.sendData("Type=cdir;Modify=20240115123456; .\r\nType=file;Size=3;UNIX.mode=0644; a file.txt\r\nTYPE=dir; sub\r\n");
        s.reply(226, "Directory send OK.");
      });
      const ftp = await fixtures.client(srv);
      const entries: Array<[string, Record<string, string>]> = [];
      for await (const entry of ftp.mlsd("/pub")) entries.push(entry);
      expect(entries).to.deep.equal([
        [".", { type: "cdir", modify: "20240115123456" }],
        ["a file.txt", { type: "file", size: "3", "unix.mode": "0644" }],
        ["sub", { type: "dir" }],
      ]);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "MLSD /pub"]);
    });

    it("asks for the facts with OPTS MLST first, and lists the current directory without a path", async function () {
      const srv = await fixtures.server({ files: { "/pub/a.txt": "abc", "/pub/sub/": "" } });
      const ftp = await fixtures.client(srv);
      await ftp.cwd("/pub");
      const entries: Array<[string, Record<string, string>]> = [];
      for await (const entry of ftp.mlsd("", ["type", "size", "perm"])) entries.push(entry);
      expect(entries).to.deep.equal([
        [".", { type: "cdir", perm: "flcdmpe" }],
        ["..", { type: "pdir", perm: "flcdmpe" }],
        ["a.txt", { type: "file", size: "3", perm: "adfrw" }],
        ["sub", { type: "dir", perm: "flcdmpe" }],
      ]);
      expect(commandsAfterLogin(srv)).to.deep.equal(["CWD /pub", "OPTS MLST type;size;perm;", "TYPE A", "EPSV", "MLSD"]);
    });

    it("rejects a 550 with FtpPermError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      const listing = ftp.mlsd("/nowhere");
      const error = await rejectionOf(listing.next());
      expect(error).to.be.instanceOf(FtpPermError);
      expect(error).to.include({ code: "ERR_FTP_PERM", replyCode: 550 });
    });
  });

  describe("nlst and dir", function () {
    it("nlst resolves to the names, with its arguments on the NLST line", async function () {
      const srv = await fixtures.server({ files: { "/pub/a.txt": "a", "/pub/b.txt": "b", "/top.txt": "t" } });
      const ftp = await fixtures.client(srv);
      expect(await ftp.nlst()).to.deep.equal(["pub", "top.txt"]);
      expect(await ftp.nlst("/pub")).to.deep.equal(["/pub/a.txt", "/pub/b.txt"]);
      // The server is still in TYPE A for the second listing (see "TYPE once per run of transfers").
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "NLST", "EPSV", "NLST /pub"]);
    });

    it("nlst rejects a 450 with FtpTempError", async function () {
      const srv = await fixtures.server();
      const ftp = await fixtures.client(srv);
      expect(await rejectionOf(ftp.nlst("/nowhere"))).to.be.instanceOf(FtpTempError);
    });

    it("dir calls back per LIST line, skipping empty arguments", async function () {
      const srv = await fixtures.server({ files: { "/pub/a.txt": "a", "/pub/sub/": "" } });
      const ftp = await fixtures.client(srv);
      const lines: string[] = [];
      await ftp.dir("", "-la", "/pub", (line) => lines.push(line));
      expect(names(lines)).to.deep.equal(["a.txt", "sub"]);
      expect(lines[0]).to.match(/^-rw-r--r-- +1 ftp +ftp +1 /);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "LIST -la /pub"]);
    });

    it("dir prints the lines without a callback", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      const log = sinon.stub(console, "log");
      try {
        await ftp.dir();
      } finally {
        log.restore();
      }
      expect(names(log.args.map((args) => args[0] as string))).to.deep.equal(["a.txt"]);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE A", "EPSV", "LIST"]);
    });
  });

  describe("passive data connections", function () {
    it("uses EPSV first", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv);
      await ftp.retrbinary("RETR /a.txt", () => undefined);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "RETR /a.txt"]);
    });

    for (const [code, text] of [
      [500, "Unknown command."],
      [502, "EPSV not implemented."],
    ] as const) {
      it(`falls back to PASV when EPSV gets ${code}, and keeps to PASV afterwards`, async function () {
        const srv = await fixtures.server({ files: { "/a.txt": "hello" } });
        srv.handle("EPSV", (s) => s.reply(code, text));
        const ftp = await fixtures.client(srv);
        const blocks: Buffer[] = [];
        await ftp.retrbinary("RETR /a.txt", (block) => blocks.push(block));
        expect(await ftp.nlst()).to.deep.equal(["a.txt"]);
        expect(Buffer.concat(blocks).toString()).to.equal("hello");
        expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "EPSV", "PASV", "RETR /a.txt", "TYPE A", "PASV", "NLST"]);
      });
    }

    it("uses PASV alone with useEpsv: false", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "a" } });
      const ftp = await fixtures.client(srv, { useEpsv: false });
      await ftp.retrbinary("RETR /a.txt", () => undefined);
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "PASV", "RETR /a.txt"]);
    });

    it("ignores the host in a 227 reply and connects to the control connection's peer", async function () {
      const srv = await fixtures.server({ files: { "/a.txt": "from the real server" } });
      srv.handle("PASV", async (s) => {
        const port = await s.passiveListen();
        // A host the client must never be sent to.
        s.reply(227, `Entering Passive Mode (10,255,255,1,${port >> 8},${port & 255}).`);
      });
      const ftp = await fixtures.client(srv, { useEpsv: false });
      const blocks: Buffer[] = [];
      await ftp.retrbinary("RETR /a.txt", (block) => blocks.push(block));
      expect(Buffer.concat(blocks).toString()).to.equal("from the real server");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "PASV", "RETR /a.txt"]);
    });

    it("connects to the host in a 227 reply with trustPasvHost", async function () {
      const srv = await fixtures.server();
      // Another machine, as far as the client can tell: 127.0.0.2 serves the data.
      const elsewhere = net.createServer((socket) => socket.end("from 127.0.0.2"));
      elsewhere.listen(0, "127.0.0.2");
      await once(elsewhere, "listening");
      try {
        const port = (elsewhere.address() as net.AddressInfo).port;
        srv.handle("PASV", (s) => s.reply(227, `Entering Passive Mode (127,0,0,2,${port >> 8},${port & 255}).`));
        srv.handle("RETR", (s) => {
          s.reply(150, "Here it comes.");
          s.reply(226, "Transfer complete.");
        });
        const ftp = await fixtures.client(srv, { useEpsv: false, trustPasvHost: true });
        const blocks: Buffer[] = [];
        await ftp.retrbinary("RETR /a.txt", (block) => blocks.push(block));
        expect(Buffer.concat(blocks).toString()).to.equal("from 127.0.0.2");
      } finally {
        elsewhere.close();
      }
    });

    it("fails the transfer with FtpConnectionError when the trusted PASV host refuses", async function () {
      // RETR goes out while the connect is under way; the fixture answers it
      // with 425 once its listener gives up waiting.
      const srv = await fixtures.server({ files: { "/a.txt": "a" }, passiveTimeoutMs: 200 });
      srv.handle("PASV", async (s) => {
        const port = await s.passiveListen();
        s.reply(227, `Entering Passive Mode (127,0,0,2,${port >> 8},${port & 255}).`);
      });
      const ftp = await fixtures.client(srv, { useEpsv: false, trustPasvHost: true });
      const error = await rejectionOf(ftp.retrbinary("RETR /a.txt", () => undefined));
      expect(error).to.be.instanceOf(FtpConnectionError);
      expect(error.message).to.include("127.0.0.2");
      expect(commandsAfterLogin(srv)).to.deep.equal(["TYPE I", "PASV", "RETR /a.txt"]);
      expect(await ftp.pwd()).to.equal("/");
    });
  });

  it("runs transfers back to back on one client, and leaves no data connection behind", async function () {
    const srv = await fixtures.server({ files: { "/a.bin": patternFile(70_000) } });
    const ftp = await fixtures.client(srv);
    for (let i = 0; i < 3; i++) {
      const blocks: Buffer[] = [];
      await ftp.retrbinary("RETR /a.bin", (block) => blocks.push(block));
      expect(patternMismatch(Buffer.concat(blocks))).to.equal(-1);
      await pipeline(Readable.from([patternBytes(0, 1000)]), ftp.storbinary(`STOR /copy${i}.bin`));
    }
    await until(() => srv.openConnections() === 1, "only the control connection remaining");
    expect(srv.vfs.paths().filter((path) => path.startsWith("/copy"))).to.have.length(3);
  });
});
