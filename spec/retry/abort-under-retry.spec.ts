/**
 * Under `retry`, ftp.abort() during a transfer is its owner's stop, not a
 * fault: the transfer ends with the abort's outcome (the server's 426, as
 * without `retry`) and no other attempt goes out. The 426 that an abort
 * brings is a transient reply like any other, and the download resumed
 * (REST, RETR) and resolved with 226, the upload resumed (SIZE, REST,
 * STOR) and finished: abort() did not abort.
 */
import { expect } from "chai";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { patternBytes } from "../../fixtures/server.js";
import { FtpTempError, type FTP } from "../../lib/index.js";
import { FaultCase, outcome } from "../faults/helpers.js";

const FAST = { attempts: 3, minDelay: 1, maxDelay: 5 };
const MiB = 1024 * 1024;

describe("retry: ftp.abort() during a transfer ends it, never another attempt", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  async function client(): Promise<FTP> {
    fc = await FaultCase.start({ files: { "/big.bin": patternBytes(0, 32 * MiB) } });
    const ftp = fc.client({ retry: FAST });
    await ftp.ready;
    return ftp;
  }

  const sent = (verb: string): string[] => fc.srv.commands.filter((line) => line.startsWith(verb));

  it("retrbinary with a callback (ftplib's idiom): rejects with the 426, one RETR, no REST", async () => {
    const ftp = await client();
    let received = 0;
    let aborting: Promise<string> | undefined;
    const result = await outcome(
      ftp.retrbinary("RETR /big.bin", (block) => {
        received += block.length;
        if (received >= MiB) aborting ??= ftp.abort();
      }),
    );
    expect(result.ok, "the download resolved").to.equal(false);
    expect((result as { error: unknown }).error).to.be.instanceOf(FtpTempError);
    expect(await aborting).to.match(/^(225|226|426) /);
    expect(sent("RETR")).to.have.length(1);
    expect(sent("REST")).to.deep.equal([]);
    expect(await ftp.pwd()).to.equal("/");
  });

  it("a download stream errors, never ends, one RETR", async () => {
    const ftp = await client();
    const stream = ftp.retrbinary("RETR /big.bin");
    let received = 0;
    let ends = 0;
    stream.on("end", () => ends++);
    const errored = new Promise<unknown>((resolve) => stream.once("error", resolve));
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= MiB && received - chunk.length < MiB) void ftp.abort().catch(() => undefined);
    });
    expect(await errored).to.be.instanceOf(FtpTempError);
    expect(ends).to.equal(0);
    expect(received).to.be.lessThan(32 * MiB);
    expect(sent("RETR")).to.have.length(1);
    expect(sent("REST")).to.deep.equal([]);
  });

  it("an upload stream fails with the 426, one STOR, no SIZE or REST", async () => {
    const ftp = await client();
    let pushed = 0;
    const block = patternBytes(7, 64 * 1024);
    const source = new Readable({
      read() {
        pushed += block.length;
        if (pushed === MiB) void ftp.abort().catch(() => undefined);
        this.push(pushed > 32 * MiB ? null : block);
      },
    });
    const result = await outcome(pipeline(source, ftp.storbinary("STOR /up.bin")));
    expect(result.ok, "the upload finished").to.equal(false);
    expect(sent("STOR")).to.have.length(1);
    expect(sent("SIZE")).to.deep.equal([]);
    expect(sent("REST")).to.deep.equal([]);
  });
});
