/**
 * Every upload feature against every source kind, on the fixture server.
 * All uploads run through one core (UploadRun, lib/upload.ts), so `retry`
 * and resume, verifySize, the block callback, a signal and progress must
 * work the same whether the bytes come from a Buffer, a string, an async
 * iterable, a Readable, or the Writable storbinary(cmd) returns. Each row
 * asserts what would fail if the feature did not reach the core from that
 * source.
 */
import { expect } from "chai";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FtpConnectionError, FtpError, FtpSizeMismatchError, FtpTempError } from "../../lib/index.js";
import type { FTP, RetryEvent, StorbinaryOptions, TransferProgress, UploadStream } from "../../lib/index.js";
import type { FixtureServer, Session as FixtureSession } from "../../fixtures/server.js";
import { FaultCase, rejectsWith } from "../faults/helpers.js";

/** ASCII, so the string source sends the same bytes as the others; no period short enough to hide a resume at the wrong offset. */
const TEXT = Array.from({ length: 400_000 }, (_, i) => String.fromCharCode(33 + ((i * 7 + (i >> 9) * 13) % 90))).join("");
const PAYLOAD = Buffer.from(TEXT, "latin1");
const CHUNK = 64 * 1024;

function chunks(): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < PAYLOAD.length; at += CHUNK) out.push(PAYLOAD.subarray(at, at + CHUNK));
  return out;
}

const KINDS = ["Buffer", "string", "async iterable", "Readable", "Writable (storbinary(cmd) piped into)"] as const;
type Kind = (typeof KINDS)[number];

/**
 * Uploads PAYLOAD to `cmd` from a source of `kind` with `options`, and
 * resolves to the final reply; `onStream` gets the Writable of the stream form.
 */
function upload(ftp: FTP, kind: Kind, cmd: string, options: StorbinaryOptions, onStream?: (stream: UploadStream) => void): Promise<string> {
  switch (kind) {
    case "Buffer":
      return ftp.storbinary(cmd, PAYLOAD, options);
    case "string":
      return ftp.storbinary(cmd, TEXT, options);
    case "async iterable":
      return ftp.storbinary(
        cmd,
        (async function* () {
          for (const chunk of chunks()) yield chunk;
        })(),
        options,
      );
    case "Readable":
      return ftp.storbinary(cmd, Readable.from(chunks()), options);
    case "Writable (storbinary(cmd) piped into)": {
      const stream = ftp.storbinary(cmd, options);
      onStream?.(stream);
      return pipeline(Readable.from(chunks()), stream).then(() => stream.response ?? "");
    }
  }
}

/** A STOR handler: stores what it reads until it has `bytes` (at least), then runs `fault`. */
function storePartThen(bytes: number, fault: (data: Socket, s: FixtureSession) => void) {
  return async (s: FixtureSession, arg: string): Promise<void> => {
    s.reply(150, "Ok to send data.");
    const data = await s.openData();
    const kept: Buffer[] = [];
    let seen = 0;
    await new Promise<void>((resolve) => {
      data.on("data", (chunk: Buffer) => {
        if (seen >= bytes) return;
        kept.push(chunk);
        seen += chunk.length;
        if (seen >= bytes) resolve();
      });
      data.resume();
    });
    s.vfs.set(s.resolvePath(arg), Buffer.concat(kept));
    fault(data, s);
  };
}

/** STOR -> 150, every byte read, only the first `keep` stored, 226: a server that lost the tail. */
function truncatingStor(srv: FixtureServer, keep: number): void {
  srv.once("STOR", async (s, arg) => {
    s.reply(150, "Ok to send data.");
    const bytes = await s.receiveAll();
    s.vfs.set(s.resolvePath(arg), bytes.subarray(0, keep));
    s.reply(226, "Transfer complete.");
  });
}

describe("uploads: every feature with every source kind (one upload core)", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  for (const kind of KINDS) {
    describe(`from a ${kind}`, () => {
      it("retry: goes on from what the server holds after the data connection is reset mid-upload, and the file ends byte-exact", async () => {
        fc = await FaultCase.start();
        const ftp = fc.client({ retry: { attempts: 3, minDelay: 1, maxDelay: 5 } });
        const events: RetryEvent[] = [];
        ftp.on("retry", (event) => events.push(event));
        await ftp.ready;
        fc.srv.once(
          "STOR",
          storePartThen(100_000, (data, s) => (data.resetAndDestroy(), s.reply(426, "Connection reset."))),
        );
        expect(await upload(ftp, kind, "STOR /up.bin", {})).to.match(/^226/);
        expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD), "the file on the server is the payload").to.equal(true);
        expect(events).to.have.length(1);
        // The REST before STOR (the one before it is the RETR's that read the last bytes held back: upload-overlap.ts).
        const rest = fc.srv.commands.filter((line, at, all) => line.startsWith("REST ") && all[at + 1]?.startsWith("STOR "));
        expect(rest, "a resume, not a new start").to.have.length(1);
        expect(Number(rest[0].slice(5))).to.be.at.least(100_000);
        await fc.finish(ftp, false);
      });

      it("retry off: the same reset fails the upload (the reset or the 426) and the client stays usable", async () => {
        fc = await FaultCase.start();
        const ftp = fc.client();
        await ftp.ready;
        fc.srv.once(
          "STOR",
          storePartThen(100_000, (data, s) => (data.resetAndDestroy(), s.reply(426, "Connection reset."))),
        );
        // Whole bytes are all written before the reset can show on the socket: then the 426 tells.
        const error = await rejectsWith(upload(ftp, kind, "STOR /up.bin", {}), FtpError);
        if (!(error instanceof FtpConnectionError)) expect(error).to.be.instanceOf(FtpTempError).and.include({ replyCode: 426 });
        expect(fc.srv.commands.filter((line) => line.startsWith("STOR"))).to.have.length(1);
        await fc.finish(ftp, false);
      });

      it("verifySize: rejects with FtpSizeMismatchError when the server stored fewer bytes than were sent", async () => {
        fc = await FaultCase.start();
        truncatingStor(fc.srv, 1234);
        const ftp = fc.client();
        await ftp.ready;
        const error = await rejectsWith(upload(ftp, kind, "STOR /up.bin", { verifySize: true }), FtpSizeMismatchError);
        expect([error.expected, error.received]).to.deep.equal([PAYLOAD.length, 1234]);
        expect(fc.srv.commands.slice(-1)).to.deep.equal(["SIZE /up.bin"]);
        await fc.finish(ftp, false);
      });

      it("callback: is called with every block, in order, none larger than blocksize", async () => {
        fc = await FaultCase.start();
        const ftp = fc.client();
        await ftp.ready;
        const blocks: Buffer[] = [];
        const callback = (block: Buffer): void => void blocks.push(Buffer.from(block));
        expect(await upload(ftp, kind, "STOR /up.bin", { callback, blocksize: 10_000 })).to.match(/^226/);
        expect(Buffer.concat(blocks).equals(PAYLOAD), "the blocks are the payload").to.equal(true);
        expect(Math.max(...blocks.map((block) => block.length))).to.be.at.most(10_000);
        expect(blocks.length).to.be.at.least(Math.ceil(PAYLOAD.length / 10_000));
        expect(fc.srv.vfs.get("/up.bin")?.equals(PAYLOAD)).to.equal(true);
        await fc.finish(ftp, false);
      });

      it("signal: aborting mid-upload rejects with an AbortError, aborts the transfer, and the client stays usable", async () => {
        fc = await FaultCase.start();
        const ftp = fc.client();
        await ftp.ready;
        const controller = new AbortController();
        fc.srv.once("STOR", async (s) => {
          s.reply(150, "Ok to send data.");
          const data = await s.openData();
          let seen = 0;
          data.on("data", (chunk: Buffer) => {
            seen += chunk.length;
            if (seen >= 50_000 && !controller.signal.aborted) {
              data.pause();
              controller.abort();
            }
          });
          data.resume();
          await new Promise((resolve) => data.once("close", resolve));
          s.reply(426, "Connection closed; transfer aborted.");
        });
        const error = await rejectsWith(upload(ftp, kind, "STOR /up.bin", { signal: controller.signal }), Error);
        expect(error.name).to.equal("AbortError");
        await fc.finish(ftp, false);
        expect(fc.srv.commands).to.include("ABOR");
      });

      it("progress: ends with a progress event that counts every byte", async () => {
        fc = await FaultCase.start();
        const ftp = fc.client();
        await ftp.ready;
        const told: TransferProgress[] = [];
        const emitted: TransferProgress[] = [];
        const onProgress = (progress: TransferProgress): void => void told.push(progress);
        const onStream = (stream: UploadStream): void => void stream.on("progress", (progress: TransferProgress) => emitted.push(progress));
        expect(await upload(ftp, kind, "STOR /up.bin", { onProgress }, onStream)).to.match(/^226/);
        expect(told.at(-1)?.bytes).to.equal(PAYLOAD.length);
        if (kind.startsWith("Writable")) expect(emitted.at(-1)?.bytes).to.equal(PAYLOAD.length);
        await fc.finish(ftp, false);
      });
    });
  }
});
