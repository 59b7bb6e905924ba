/**
 * A task that ends with work of its still on its client (it started a
 * download and threw, or returned, without reading it to its end) gives
 * back a client whose queue that download holds for as long as nobody
 * reads it. Handed to the next use(), it kept that task waiting behind it
 * for ever, and close() waited for ever to send QUIT behind it. The pool
 * now holds such a client back until its queue has settled (the next
 * use() gets another client, or waits for one), and close() closes it.
 */
import { expect } from "chai";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { patternFile, patternMismatch } from "../../fixtures/server.js";
import { FTP } from "../../lib/index.js";
import { rejectsWith } from "../faults/helpers.js";
import { usePoolFixture } from "./pool-fixture.js";

const BIG = 32 * 1024 * 1024;

describe("FtpPool: a task that leaves a download unread on its client", () => {
  const fixture = usePoolFixture({ files: { "/big.bin": patternFile(BIG), "/small.bin": patternFile(1000) } });
  const { made } = fixture;
  const poolOf = (size: number) => fixture.poolOf(size);

  /** A task that starts downloading the big file and throws before reading any of it. */
  const abandoning = (client: FTP): Promise<never> => {
    const download = client.retrbinary("RETR /big.bin");
    download.on("error", () => undefined);
    throw new Error("the task failed after starting its download");
  };

  it("the next use() runs on another client instead of waiting behind the unread download", async () => {
    const p = poolOf(2);
    await rejectsWith(p.use(abandoning), Error);
    expect(await p.use((client) => client.pwd())).to.equal("/");
    expect(made).to.have.length(2);
  });

  it("with no other client, a use() waiting for one is rejected by close(), which settles and closes the client", async () => {
    const p = poolOf(1);
    await rejectsWith(p.use(abandoning), Error);
    let ran = false;
    const waiting = p.use(async () => {
      ran = true;
    });
    waiting.catch(() => undefined);
    await p.close();
    const error = await rejectsWith(waiting, Error);
    expect(error).to.include({ code: "ERR_FTP_POOL_CLOSED" });
    expect(ran).to.equal(false);
    expect(made.map((client) => client.closed)).to.deep.equal([true]);
  });

  it("a download returned by a task and read to its end afterwards gives its client back to the next use()", async () => {
    const p = poolOf(1);
    const download = await p.use(async (client) => client.retrbinary("RETR /small.bin"));
    const next = p.use((client) => client.pwd());
    const chunks: Buffer[] = [];
    await pipeline(
      download,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          callback();
        },
      }),
    );
    expect(Buffer.concat(chunks)).to.have.length(1000);
    expect(patternMismatch(Buffer.concat(chunks), 0)).to.equal(-1);
    expect(await next).to.equal("/");
    expect(made).to.have.length(1);
  });
});
