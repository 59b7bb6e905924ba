/**
 * The `retry` option against the scripted fixture: what is retried (a
 * dropped connection, a 4xx), what is not (5xx; DELE and other commands
 * that must not run twice), how a new connection gets the old one's state
 * back, and how a download resumes from the byte it delivered.
 *
 * Each spec scripts one fault with `srv.once(...)`; the next command of
 * the same verb gets the fixture's default behaviour.
 */
import { expect } from "chai";
import type { Socket } from "node:net";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FtpConnectionError, FtpPermError, FtpResumeError, FtpTempError, FtpSizeMismatchError, FTP } from "../../lib/index.js";
import type { RetryEvent, FtpOptions } from "../../lib/index.js";
import { patternBytes, patternFile, patternMismatch } from "../../fixtures/server.js";
import type { Session as FixtureSession } from "../../fixtures/server.js";
import { RetryPolicy } from "../../lib/retry.js";
import { REPLAY_WINDOW } from "../../lib/resume.js";
import { RESUME_OVERLAP } from "../../lib/resume-overlap.js";
import { FaultCase, outcome, rejectsWith, until, watchStream, expectStreamError } from "../faults/helpers.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };
const SIZE = 300_000;

/** In a RETR handler: announces the file, sends its first `bytes` bytes, then runs `fault`. */
async function sendPartThen(s: FixtureSession, bytes: number, fault: (data: Socket) => void): Promise<void> {
  s.reply(150, `Opening BINARY mode data connection for /f.bin (${SIZE} bytes).`);
  const data = await s.openData();
  await new Promise<void>((resolve) => data.write(patternBytes(0, bytes), () => resolve()));
  fault(data);
}

describe("retry: reconnect, resume, and what is never retried", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  function client(options: FtpOptions = {}): { ftp: FTP; events: RetryEvent[] } {
    const ftp = fc.client({ retry: FAST, ...options });
    const events: RetryEvent[] = [];
    ftp.on("retry", (event) => events.push(event));
    return { ftp, events };
  }

  describe("RetryPolicy", () => {
    it("waits between minDelay and a ceiling that doubles each attempt, capped at maxDelay", () => {
      for (const roll of [0, 0.5, 0.999]) {
        const policy = new RetryPolicy({ attempts: 5, minDelay: 100, maxDelay: 1000 }, () => roll);
        const delays = [1, 2, 3, 4, 5].map((attempt) => policy.delay(attempt));
        const ceilings = [200, 400, 800, 1000, 1000];
        delays.forEach((delay, i) => {
          expect(delay).to.be.at.least(100);
          expect(delay).to.be.at.most(ceilings[i]);
        });
        if (roll === 0) expect(delays).to.deep.equal([100, 100, 100, 100, 100]);
      }
    });

    it("refuses attempts or delays that make no sense", () => {
      expect(() => new FTP({ retry: { attempts: -1 } })).to.throw(RangeError);
      expect(() => new FTP({ retry: { attempts: 1.5 } })).to.throw(RangeError);
      expect(() => new FTP({ retry: { attempts: 1, minDelay: 50, maxDelay: 10 } })).to.throw(RangeError);
      expect(() => new FTP({ retry: { attempts: 1, minDelay: Number.NaN } })).to.throw(RangeError);
    });
  });

  describe("commands", () => {
    it("re-sends PWD on a new connection after the connection drops, with the login and directory of the old one", async () => {
      fc = await FaultCase.start({ files: { "/d/sub/x": "x" } });
      const { ftp, events } = client();
      await ftp.ready;
      await ftp.cwd("/d");
      await ftp.cwd("sub");
      await ftp.voidcmd("TYPE I");
      fc.srv.once("PWD", (s) => s.drop());
      expect(await ftp.pwd()).to.equal("/d/sub");
      expect(events).to.have.length(1);
      expect(events[0].attempt).to.equal(1);
      expect(events[0].error).to.be.instanceOf(FtpConnectionError);
      const second = fc.srv.commands.slice(fc.srv.commands.lastIndexOf("PWD") - 6);
      expect(second).to.deep.equal(["PWD", "USER user", "PASS pass", "CWD /d", "CWD sub", "TYPE I", "PWD"]);
      expect(ftp.closed).to.equal(false);
      ftp.close();
      await fc.expectNoLeaks();
    });

    it("retries a 4xx reply on the same connection, and never a 5xx", async () => {
      fc = await FaultCase.start({ files: { "/f": "12345" } });
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.once("SIZE", (s) => s.reply(450, "Busy, try later."));
      expect(await ftp.size("/f")).to.equal(5);
      expect(events.map((e) => e.error)).to.have.length(1);
      expect(events[0].error).to.be.instanceOf(FtpTempError);
      expect(fc.srv.sessions).to.have.length(1);
      await rejectsWith(ftp.size("/missing"), FtpPermError);
      expect(fc.srv.commands.filter((line) => line === "SIZE /missing")).to.have.length(1);
      expect(events).to.have.length(1);
    });

    it("reconnects after a 421, which means the server is closing", async () => {
      fc = await FaultCase.start();
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.once("PWD", (s) => s.reply(421, "Timeout."));
      expect(await ftp.pwd()).to.equal("/");
      expect(events[0].error).to.be.instanceOf(FtpTempError);
      expect(fc.srv.sessions).to.have.length(2);
    });

    for (const [name, verb, call, expected] of [
      ["cwd", "CWD", (ftp: FTP) => ftp.cwd("/d").then(() => ftp.pwd()), "/d"],
      ["size", "SIZE", (ftp: FTP) => ftp.size("/f"), 1],
      ["lastMod", "MDTM", (ftp: FTP) => ftp.lastMod("/f").then((date) => date instanceof Date), true],
      ["features", "FEAT", (ftp: FTP) => ftp.features().then((features) => features.has("SIZE")), true],
      ["stat", "MLST", (ftp: FTP) => ftp.stat("/f").then((entry) => entry.size), 1],
    ] as const) {
      it(`re-sends the ${verb} of ${name}() on a new connection after the connection drops`, async () => {
        fc = await FaultCase.start({ files: { "/f": "x", "/d/": "" } });
        const { ftp, events } = client();
        await ftp.ready;
        fc.srv.once(verb, (s) => s.drop());
        expect(await call(ftp)).to.equal(expected);
        expect(events).to.have.length(1);
        expect(events[0].error).to.be.instanceOf(FtpConnectionError);
        expect(fc.srv.commands.filter((line) => line.startsWith(verb))).to.have.length(2);
        expect(fc.srv.sessions).to.have.length(2);
      });
    }

    for (const [name, verb, call] of [
      ["sendcmd NOOP", "NOOP", (ftp: FTP) => ftp.sendcmd("NOOP")],
      ["voidcmd CWD", "CWD", (ftp: FTP) => ftp.voidcmd("CWD /d")],
      ["voidcmd PWD", "PWD", (ftp: FTP) => ftp.voidcmd("PWD")],
      ["delete", "DELE", (ftp: FTP) => ftp.delete("/f")],
      ["mkd", "MKD", (ftp: FTP) => ftp.mkd("/new")],
      ["rmd", "RMD", (ftp: FTP) => ftp.rmd("/d")],
      ["rename", "RNTO", (ftp: FTP) => ftp.rename("/f", "/g")],
      ["sendcmd SITE", "SITE", (ftp: FTP) => ftp.sendcmd("SITE CHMOD 644 /f")],
    ] as const) {
      it(`does not re-send ${verb} (${name}) after the connection drops: it fails with the original error, and the client reconnects for the next call`, async () => {
        fc = await FaultCase.start({ files: { "/f": "x", "/d/": "" } });
        const { ftp, events } = client();
        await ftp.ready;
        fc.srv.once(verb, (s) => s.drop());
        await rejectsWith(call(ftp), FtpConnectionError);
        expect(fc.srv.commands.filter((line) => line.startsWith(verb))).to.have.length(1);
        expect(events).to.deep.equal([]);
        expect(ftp.closed).to.equal(false);
        expect(await ftp.size("/f")).to.equal(1);
        expect(fc.srv.sessions).to.have.length(2);
        expect(fc.srv.commands.filter((line) => line.startsWith(verb))).to.have.length(1);
      });
    }

    it("gives up after `attempts` retries with the last error", async () => {
      fc = await FaultCase.start();
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.handle("PWD", (s) => s.reply(450, "Not now."));
      await rejectsWith(ftp.pwd(), FtpTempError);
      expect(events.map((e) => e.attempt)).to.deep.equal([1, 2, 3]);
      expect(fc.srv.commands.filter((line) => line === "PWD")).to.have.length(4);
    });

    it("does not re-send a raw sendcmd after a 4xx either: the caller gets the reply", async () => {
      fc = await FaultCase.start();
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.once("NOOP", (s) => s.reply(450, "Not now."));
      await rejectsWith(ftp.voidcmd("NOOP"), FtpTempError);
      expect(events).to.deep.equal([]);
      expect(fc.srv.commands.filter((line) => line === "NOOP")).to.have.length(1);
    });

    it("closes the client when it cannot reconnect in the attempts allowed", async () => {
      fc = await FaultCase.start();
      const { ftp } = client();
      await ftp.ready;
      fc.srv.onConnect((s) => s.reply(530, "Go away."));
      fc.srv.once("PWD", (s) => s.drop());
      await rejectsWith(ftp.pwd(), FtpPermError);
      expect(ftp.closed).to.equal(true);
    });

    it("shows each retry at debug level 1", async () => {
      fc = await FaultCase.start();
      const lines: string[] = [];
      const { ftp } = client({ debugLevel: 1, logger: (line) => lines.push(line) });
      await ftp.ready;
      fc.srv.once("PWD", (s) => s.drop());
      await ftp.pwd();
      expect(lines.filter((line) => line.startsWith("*retry*"))).to.have.length.at.least(2);
      expect(lines.some((line) => /^\*retry\* .attempt 1 in \d+ ms after FtpConnectionError/.test(line))).to.equal(true);
    });

    it("behaves as before without the option: the dropped connection closes the client", async () => {
      fc = await FaultCase.start();
      const ftp = fc.client();
      await ftp.ready;
      fc.srv.once("PWD", (s) => s.drop());
      await rejectsWith(ftp.pwd(), FtpConnectionError);
      expect(ftp.closed).to.equal(true);
      expect(fc.srv.sessions).to.have.length(1);
    });
  });

  describe("downloads", () => {
    // A reset may destroy bytes not yet read (the kernel drops them on RST):
    // then nothing was delivered and the download starts again without REST.
    const faults: Array<[string, boolean, (data: Socket, s: FixtureSession) => void]> = [
      [
        "the data connection is reset",
        false,
        (data, s) => {
          data.resetAndDestroy();
          s.reply(426, "Connection reset.");
        },
      ],
      ["the control connection drops", true, (_data, s) => s.drop()],
      [
        "the data connection ends early and the server says 226",
        true,
        (data, s) => {
          data.end();
          s.reply(226, "Transfer complete.");
        },
      ],
    ];
    for (const [what, delivered, fault] of faults) {
      it(`goes on from the byte delivered when ${what}: one continuous, byte-exact stream`, async () => {
        fc = await FaultCase.start({ files: { "/f.bin": patternFile(SIZE) } });
        const { ftp, events } = client();
        await ftp.ready;
        fc.srv.once("RETR", (s) => sendPartThen(s, 100_000, (data) => fault(data, s)));
        const stream = ftp.retrbinary("RETR /f.bin");
        const progress: number[] = [];
        stream.on("progress", (p: { bytes: number }) => progress.push(p.bytes));
        const record = await watchStream(stream);
        expect(record.errors).to.deep.equal([]);
        expect(record.ends).to.equal(1);
        expect(record.data.length).to.equal(SIZE);
        expect(patternMismatch(record.data)).to.equal(-1);
        expect(stream.bytes).to.equal(SIZE);
        expect(stream.response).to.match(/^226/);
        expect(progress[progress.length - 1]).to.equal(SIZE);
        expect(events).to.have.length(1);
        const rest = fc.srv.commands.find((line) => line.startsWith("REST "));
        if (delivered) expect(rest).to.equal(`REST ${100_000 - RESUME_OVERLAP}`);
        else if (rest) expect(Number(rest.slice(5))).to.be.within(1, 100_000);
        expect(fc.srv.commands.filter((line) => line.startsWith("RETR"))).to.have.length(2);
        ftp.close();
        await fc.expectNoLeaks();
      });
    }

    for (const form of ["Writable", "callback"] as const) {
      it(`${form} form, queued behind a listing: goes on from the byte delivered when the control connection drops, and resolves once with the whole file`, async () => {
        fc = await FaultCase.start({ files: { "/f.bin": patternFile(SIZE) } });
        const { ftp, events } = client();
        await ftp.ready;
        fc.srv.once("RETR", (s) => sendPartThen(s, 100_000, () => s.drop()));
        // In the queue until the listing in front has ended.
        const front = ftp.nlst("/");
        const chunks: Buffer[] = [];
        const sink = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk);
            callback();
          },
        });
        const progress: number[] = [];
        const onProgress = (p: { bytes: number }): void => void progress.push(p.bytes);
        const call =
          form === "Writable"
            ? ftp.retrbinary("RETR /f.bin", sink, { onProgress })
            : ftp.retrbinary("RETR /f.bin", (chunk) => chunks.push(chunk), { onProgress });
        expect(await front).to.deep.equal(["/f.bin"]);
        expect(await call).to.match(/^226/);
        const data = Buffer.concat(chunks);
        expect(data.length).to.equal(SIZE);
        expect(patternMismatch(data)).to.equal(-1);
        expect(progress[progress.length - 1]).to.equal(SIZE);
        expect(events).to.have.length(1);
        expect(fc.srv.commands.filter((line) => line.startsWith("REST "))).to.deep.equal([`REST ${100_000 - RESUME_OVERLAP}`]);
        expect(fc.srv.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal(["RETR /f.bin", "RETR /f.bin"]);
        ftp.close();
        await fc.expectNoLeaks();
      });
    }

    it("fails, never restarting from 0, when the server refuses REST", async () => {
      fc = await FaultCase.start({ files: { "/f.bin": patternFile(SIZE) } });
      const { ftp } = client();
      await ftp.ready;
      fc.srv.once("RETR", (s) => sendPartThen(s, 100_000, (data) => (data.end(), s.reply(226, "Transfer complete."))));
      fc.srv.handle("REST", (s) => s.reply(502, "REST not implemented."));
      const record = await watchStream(ftp.retrbinary("RETR /f.bin"));
      expectStreamError(record, FtpPermError);
      expect(record.data.length).to.equal(100_000);
      expect(fc.srv.commands.filter((line) => line.startsWith("RETR"))).to.have.length(1);
    });

    it("restarts a listing only if none of it was delivered", async () => {
      fc = await FaultCase.start({ files: { "/d/a": "1", "/d/b": "2" } });
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.once("NLST", (s) => s.drop());
      expect(await ftp.nlst("/d")).to.deep.equal(["/d/a", "/d/b"]);
      expect(events).to.have.length(1);
      fc.srv.once("NLST", async (s) => {
        s.reply(150, "Here it comes.");
        const data = await s.openData();
        data.write("/d/a\r\n", () => s.drop());
      });
      const lines: string[] = [];
      await rejectsWith(
        ftp.retrlines("NLST /d", (line) => lines.push(line)),
        FtpConnectionError,
      );
      expect(lines).to.deep.equal(["/d/a"]);
    });

    it("errors without the option when a fault cuts the download short", async () => {
      fc = await FaultCase.start({ files: { "/f.bin": patternFile(SIZE) } });
      const ftp = fc.client();
      await ftp.ready;
      fc.srv.once("RETR", (s) => sendPartThen(s, 100_000, (data) => (data.end(), s.reply(226, "Transfer complete."))));
      const record = await watchStream(ftp.retrbinary("RETR /f.bin"));
      expectStreamError(record, FtpSizeMismatchError);
    });
  });

  describe("uploads", () => {
    const PAYLOAD = patternBytes(3, 400_000);

    /** A STOR/APPE/STOU handler: appends what it reads to the file until it has `bytes` more (at least), then runs `fault`. */
    function appendPartThen(bytes: number, fault: (data: Socket, s: FixtureSession) => void) {
      return async (s: FixtureSession, arg: string): Promise<void> => {
        const path = s.resolvePath(arg || "/unique.bin");
        const before = s.vfs.get(path) ?? Buffer.alloc(0);
        s.reply(150, "Ok to send data.");
        const data = await s.openData();
        const chunks: Buffer[] = [];
        let seen = 0;
        data.resume();
        await new Promise<void>((resolve) => {
          data.on("data", (chunk: Buffer) => {
            if (seen >= bytes) return;
            chunks.push(chunk);
            seen += chunk.length;
            if (seen >= bytes) resolve();
          });
        });
        s.vfs.set(path, Buffer.concat([before, ...chunks]));
        fault(data, s);
      };
    }

    for (const [what, fault] of [
      ["the data connection is reset", (data: Socket, s: FixtureSession) => (data.resetAndDestroy(), s.reply(426, "Connection reset."))],
      ["the control connection drops", (_data: Socket, s: FixtureSession) => s.drop()],
    ] as const) {
      it(`goes on from what the server holds (SIZE, REST, STOR) when ${what}, and checks the final size`, async () => {
        fc = await FaultCase.start();
        const { ftp, events } = client();
        await ftp.ready;
        fc.srv.once("STOR", appendPartThen(100_000, fault));
        const upload = ftp.storbinary("STOR /up.bin");
        await pipeline(Readable.from([PAYLOAD.subarray(0, 200_000), PAYLOAD.subarray(200_000)]), upload);
        expect(upload.response).to.match(/^226/);
        expect(upload.bytes).to.equal(PAYLOAD.length);
        expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
        expect(events).to.have.length(1);
        // The REST before STOR; the one before it is the RETR that read the last bytes held back (upload-overlap.ts).
        const held = fc.srv.commands.filter((line, at, all) => line.startsWith("REST ") && all[at + 1]?.startsWith("STOR "));
        expect(held).to.have.length(1);
        expect(Number(held[0].slice(5))).to.be.at.least(100_000);
        expect(fc.srv.commands.filter((line) => line === "SIZE /up.bin")).to.have.length(2);
        ftp.close();
        await fc.expectNoLeaks();
      });
    }

    it("sends the missing bytes again when the server said 226 but holds fewer than were sent", async () => {
      fc = await FaultCase.start();
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.once("STOR", async (s) => {
        s.reply(150, "Ok to send data.");
        const data = await s.openData();
        const chunks: Buffer[] = [];
        data.on("data", (chunk: Buffer) => chunks.push(chunk));
        data.resume();
        await new Promise((resolve) => data.on("end", resolve));
        data.end();
        s.vfs.set("/up.bin", Buffer.concat(chunks).subarray(0, 123_456));
        s.reply(226, "Transfer complete.");
      });
      await pipeline(Readable.from([PAYLOAD]), ftp.storbinary("STOR /up.bin"));
      expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
      expect(events[0].error).to.be.instanceOf(FtpSizeMismatchError);
      expect(fc.srv.commands).to.include("REST 123456");
    });

    /** Upload forms that must never start over or resume: each fails with the error of the fault, sent once. */
    const oneShot: Array<[string, string, (ftp: FTP) => Promise<unknown>]> = [
      [
        "storlines (TYPE A: SIZE cannot say how much of the text arrived)",
        "STOR",
        (ftp) => ftp.storlines("STOR /t.txt", Readable.from(["line\n".repeat(50_000)])),
      ],
      ["storlines as a stream", "STOR", (ftp) => pipeline(Readable.from(["line\n".repeat(50_000)]), ftp.storlines("STOR /t.txt"))],
      ["STOU (each run makes a new file)", "STOU", (ftp) => ftp.storbinary("STOU", PAYLOAD)],
    ];
    for (const [what, verb, call] of oneShot) {
      it(`does not resume or re-send ${what}: it fails with the original error`, async () => {
        fc = await FaultCase.start();
        const { ftp, events } = client();
        await ftp.ready;
        fc.srv.once(
          verb,
          appendPartThen(10, (_data, s) => s.drop()),
        );
        await rejectsWith(call(ftp), FtpConnectionError);
        expect(events).to.deep.equal([]);
        expect(fc.srv.commands.filter((line) => line.startsWith(verb))).to.have.length(1);
        expect(fc.srv.commands.some((line) => line.startsWith("REST") || line.startsWith("APPE"))).to.equal(false);
        expect(await ftp.pwd()).to.equal("/");
      });
    }

    it("resumes an APPE from the size SIZE gave before it: APPE again with the missing bytes, no REST", async () => {
      const OLD = patternBytes(7, 50_000);
      fc = await FaultCase.start({ files: { "/log.bin": OLD } });
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.once(
        "APPE",
        appendPartThen(100_000, (data, s) => (data.resetAndDestroy(), s.reply(426, "Connection reset."))),
      );
      const upload = ftp.storbinary("APPE /log.bin");
      await pipeline(Readable.from([PAYLOAD.subarray(0, 200_000), PAYLOAD.subarray(200_000)]), upload);
      expect(upload.response).to.match(/^226/);
      expect(fc.srv.vfs.get("/log.bin")?.equals(Buffer.concat([OLD, PAYLOAD]))).to.equal(true);
      expect(events).to.have.length(1);
      expect(fc.srv.commands.filter((line) => line.startsWith("APPE"))).to.have.length(2);
      // No REST for the APPE (the one there is the RETR's that read the last bytes held back).
      expect(fc.srv.commands.some((line, at, all) => line.startsWith("REST") && all[at + 1]?.startsWith("APPE"))).to.equal(false);
      expect(fc.srv.commands.filter((line) => line === "SIZE /log.bin")).to.have.length(3);
      expect(fc.srv.commands.indexOf("SIZE /log.bin")).to.be.below(fc.srv.commands.indexOf("APPE /log.bin"));
    });

    it("resumes an APPE to a file that did not exist (SIZE said 550 before it)", async () => {
      fc = await FaultCase.start();
      const { ftp } = client();
      await ftp.ready;
      fc.srv.once(
        "APPE",
        appendPartThen(100_000, (_data, s) => s.drop()),
      );
      expect(await ftp.storbinary("APPE /new.bin", Readable.from([PAYLOAD]))).to.match(/^226/);
      expect(fc.srv.vfs.get("/new.bin")?.equals(PAYLOAD)).to.equal(true);
      expect(fc.srv.commands.filter((line) => line.startsWith("APPE"))).to.have.length(2);
    });

    it("does not resume an APPE when the size before it is unknown (SIZE refused): it fails with the original error", async () => {
      fc = await FaultCase.start({ files: { "/log.bin": "old" } });
      const { ftp, events } = client();
      await ftp.ready;
      fc.srv.handle("SIZE", (s) => s.reply(502, "SIZE not implemented."));
      fc.srv.once(
        "APPE",
        appendPartThen(100_000, (_data, s) => s.drop()),
      );
      await rejectsWith(ftp.storbinary("APPE /log.bin", Readable.from([PAYLOAD])), FtpConnectionError);
      expect(events).to.deep.equal([]);
      expect(fc.srv.commands.filter((line) => line.startsWith("APPE"))).to.have.length(1);
    });

    describe("further back than the 16 MiB a stream source keeps", () => {
      const BIG = patternBytes(11, REPLAY_WINDOW + 4 * 1024 * 1024);
      /** Keeps the first 100,000 bytes as the file, reads the rest of the upload, then drops the connection. */
      const keepHeadThenDrop = (s: FixtureSession, arg: string): Promise<void> =>
        appendPartThen(BIG.length, (_data, session) => {
          session.vfs.set(session.resolvePath(arg), BIG.subarray(0, 100_000));
          session.drop();
        })(s, arg);

      it("resumes a Buffer source from any offset, reading it again", async () => {
        fc = await FaultCase.start();
        const { ftp, events } = client();
        await ftp.ready;
        fc.srv.once("STOR", keepHeadThenDrop);
        const blocks: number[] = [];
        // ftplib's form with a callback: the Buffer goes out in blocks, as a stream's chunks would.
        expect(await ftp.storbinary("STOR /big.bin", BIG, 64 * 1024, (block) => blocks.push(block.length))).to.match(/^226/);
        expect(fc.srv.vfs.get("/big.bin")?.equals(BIG)).to.equal(true);
        expect(events).to.have.length(1);
        expect(fc.srv.commands).to.include("REST 100000");
      });

      it("fails a stream source with FtpResumeError, naming what the server holds and what is still kept", async () => {
        fc = await FaultCase.start();
        const { ftp } = client();
        await ftp.ready;
        fc.srv.once("STOR", keepHeadThenDrop);
        const chunks = function* (): Generator<Buffer> {
          for (let at = 0; at < BIG.length; at += 64 * 1024) yield BIG.subarray(at, at + 64 * 1024);
        };
        const error = await rejectsWith(ftp.storbinary("STOR /big.bin", Readable.from(chunks())), FtpResumeError);
        expect(error.code).to.equal("ERR_FTP_RESUME");
        expect(error.stored).to.equal(100_000);
        expect(error.sent).to.equal(BIG.length);
        expect(error.keptFrom).to.be.above(100_000);
        expect(error.message).to.match(/holds 100000 bytes .* 16 MiB/);
        expect(fc.srv.commands.filter((line) => line.startsWith("STOR"))).to.have.length(1);
      });
    });
  });

  it("keeps a pool's client that lost its connection, and the next use reconnects", async () => {
    fc = await FaultCase.start();
    const { ftp } = client();
    await ftp.ready;
    fc.srv.sessions[0].drop();
    await until(() => fc.srv.openConnections() === 0);
    expect(ftp.closed).to.equal(false);
    expect(await ftp.pwd()).to.equal("/");
    expect((await outcome(ftp.quit())).ok).to.equal(true);
  });
});
