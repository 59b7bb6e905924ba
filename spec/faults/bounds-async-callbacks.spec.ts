/**
 * The callback forms (retrbinary(cmd, callback), retrlines(cmd, callback),
 * dir(..., callback), storbinary's `callback`) take a function returning
 * void, which an async function is too: an ETL job's `async (block) => {
 * await db.write(block) }`. Its promise was never looked at: a rejection
 * went unhandled (a process exits on that, a days-long job with it) and
 * the call resolved as if the data had been taken; the blocks also came
 * while the ones before were still being written, with no bound on what
 * piled up. Now a download's callback is waited for before the next block
 * or line and before the call settles, and a rejection fails the call as
 * a throw does; an upload's rejecting callback fails the upload.
 */
import { expect } from "chai";
import { patternFile, patternMismatch } from "../../fixtures/server.js";
import { FaultCase, rejectsWith } from "./helpers.js";

const SIZE = 300_000;
const LINES = Array.from({ length: 200 }, (_, i) => `line ${i}`);

/** An async callback that counts how many of its calls run at once. */
function overlapCounter(): { running: number; most: number; calls: number; wait: () => Promise<void> } {
  const state = {
    running: 0,
    most: 0,
    calls: 0,
    wait: async (): Promise<void> => {
      state.calls++;
      state.running++;
      state.most = Math.max(state.most, state.running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      state.running--;
    },
  };
  return state;
}

describe("bounds: async callbacks of the callback forms", function () {
  this.timeout(20_000);
  let fc: FaultCase;
  beforeEach(async () => {
    fc = await FaultCase.start({ files: { "/big.bin": patternFile(SIZE), "/text.txt": LINES.join("\n") + "\n", "/dir/a.txt": "a" } });
  });
  afterEach(async () => {
    await fc.dispose();
  });

  it("retrbinary: a callback's rejection rejects the call with it, nothing escapes, and the client goes on", async () => {
    const ftp = fc.client();
    const failure = new Error("the database refused the block");
    const error = await rejectsWith(
      ftp.retrbinary("RETR /big.bin", async () => Promise.reject(failure)),
      Error,
    );
    expect(error).to.equal(failure);
    await fc.finish(ftp, false);
  });

  it("retrbinary: each block waits for the callback before it, and the call settles once the last one has", async () => {
    const ftp = fc.client();
    const counter = overlapCounter();
    const blocks: Buffer[] = [];
    let lastDone = false;
    const reply = await ftp.retrbinary(
      "RETR /big.bin",
      async (block) => {
        blocks.push(Buffer.from(block));
        await counter.wait();
        lastDone = Buffer.concat(blocks).length === SIZE;
      },
      { blocksize: 8192 },
    );
    expect(reply).to.match(/^226/);
    expect(lastDone, "the last callback had ended when the call resolved").to.equal(true);
    expect(counter.most, "callbacks running at once").to.equal(1);
    const data = Buffer.concat(blocks);
    expect(data.length).to.equal(SIZE);
    expect(patternMismatch(data)).to.equal(-1);
    await fc.finish(ftp, false);
  });

  it("retrbinary: a signal aborted while a callback runs rejects the call, and no block is handed on after that", async () => {
    const ftp = fc.client();
    const controller = new AbortController();
    let calls = 0;
    const call = ftp.retrbinary(
      "RETR /big.bin",
      async () => {
        if (++calls === 1) {
          controller.abort();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
      { blocksize: 1024, signal: controller.signal },
    );
    const error = await rejectsWith(call, Error);
    expect(error.name).to.equal("AbortError");
    const callsAtRejection = calls;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls, "callbacks after the call rejected").to.equal(callsAtRejection);
    expect(calls).to.equal(1);
    await fc.finish(ftp, false);
  });

  it("retrlines and dir: a callback's rejection rejects the call with it, nothing escapes, and the client goes on", async () => {
    const ftp = fc.client();
    const failure = new Error("the line could not be stored");
    expect(
      await rejectsWith(
        ftp.retrlines("RETR /text.txt", async () => Promise.reject(failure)),
        Error,
      ),
    ).to.equal(failure);
    expect(
      await rejectsWith(
        ftp.dir("/dir", async () => Promise.reject(failure)),
        Error,
      ),
    ).to.equal(failure);
    await fc.finish(ftp, false);
  });

  it("retrlines: each line waits for the callback before it, and the call settles once the last one has", async () => {
    const ftp = fc.client();
    const counter = overlapCounter();
    const lines: string[] = [];
    let settledLines = 0;
    const reply = await ftp.retrlines("RETR /text.txt", async (line) => {
      lines.push(line);
      await counter.wait();
      settledLines++;
    });
    expect(reply).to.match(/^226/);
    expect(settledLines, "callbacks ended when the call resolved").to.equal(LINES.length);
    expect(counter.most, "callbacks running at once").to.equal(1);
    expect(lines).to.deep.equal(LINES);
    await fc.finish(ftp, false);
  });

  it("storbinary: a block callback's rejection fails the upload with it, nothing escapes, and the client goes on", async () => {
    const ftp = fc.client();
    const failure = new Error("the progress store is down");
    const error = await rejectsWith(
      ftp.storbinary("STOR /up.bin", Buffer.alloc(SIZE, 7), {
        blocksize: 8192,
        callback: async () => Promise.reject(failure),
      }),
      Error,
    );
    expect(error).to.equal(failure);
    await fc.finish(ftp, false);
  });
});
