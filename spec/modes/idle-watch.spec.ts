/**
 * A data connection's idleness is looked at a few times per timeout
 * (lib/transfer-watch.ts, IdleWatch), not re-timed on every read and
 * write: what moves between two looks must still count, a connection
 * that stops must still fail, and never before a whole timeout of
 * silence (nor later than a quarter more, plus the loop's lag).
 */
import { Readable } from "node:stream";
import { expect } from "chai";
import { FtpTimeoutError } from "../../lib/index.js";
import { patternFile, type FixtureServer } from "../../fixtures/server.js";
import { collect, Harness, rejection } from "./helpers.js";

const TIMEOUT = 300;

/** `count` chunks of 100 bytes, `gap` ms apart. */
async function* inGaps(count: number, gap: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, gap));
    yield Buffer.alloc(100, i);
  }
}

describe("idle data connections, looked at now and then", function () {
  this.timeout(10_000);
  const harness = new Harness();
  let srv: FixtureServer;

  beforeEach(async () => {
    srv = await harness.server({ files: { "/f.bin": patternFile(1000) } });
  });
  afterEach(() => harness.close());

  it("a download whose bytes come in gaps shorter than the timeout, for four timeouts in all, is not idle", async () => {
    srv.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      await s.sendData(Readable.from(inGaps(8, TIMEOUT / 2)));
      s.reply(226, "Done.");
    });
    const ftp = await harness.client(srv, { timeout: TIMEOUT });
    const data = await collect(ftp.retrbinary("RETR /f.bin"));
    expect(data.length).to.equal(800);
    expect(ftp.closed).to.equal(false);
  });

  it("one that goes silent after such gaps fails a whole timeout after its last byte, not sooner, and within two", async () => {
    let lastByte = 0;
    srv.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      const sock = await s.openData();
      for (let i = 0; i < 3; i++) {
        sock.write(Buffer.alloc(100, i));
        lastByte = performance.now();
        await s.sleep(TIMEOUT / 2);
      }
      await s.sleep(TIMEOUT * 10);
    });
    const ftp = await harness.client(srv, { timeout: TIMEOUT });
    const download = ftp.retrbinary("RETR /f.bin");
    let received = 0;
    download.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    const error = await rejection(collect(download));
    const silentFor = performance.now() - lastByte;
    expect(error).to.be.instanceOf(FtpTimeoutError);
    expect(received).to.equal(300);
    expect(silentFor).to.be.at.least(TIMEOUT);
    expect(silentFor).to.be.below(TIMEOUT * 2);
    expect(ftp.closed).to.equal(true);
  });

  it("a download its consumer pauses past the timeout is not idle, and gets a whole timeout again from its resume", async () => {
    srv.handle("RETR", async (s) => {
      s.reply(150, "Here it comes.");
      const sock = await s.openData();
      sock.write(Buffer.alloc(4 * 1024 * 1024, 1));
      await s.sleep(TIMEOUT * 10);
    });
    const ftp = await harness.client(srv, { timeout: TIMEOUT, highWaterMark: 64 * 1024 });
    const download = ftp.retrbinary("RETR /f.bin");
    await new Promise((resolve) => download.once("readable", resolve));
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT * 2));
    expect(ftp.closed).to.equal(false);
    const resumedAt = performance.now();
    let received = 0;
    download.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    const error = await rejection(collect(download));
    expect(error).to.be.instanceOf(FtpTimeoutError);
    expect(received).to.equal(4 * 1024 * 1024);
    expect(performance.now() - resumedAt).to.be.at.least(TIMEOUT);
  });
});
