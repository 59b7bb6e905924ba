/**
 * nlst() holds every name it is given: a server that sends names without
 * end is stopped at 1,000,000 (walk()'s maxEntries), with FtpLimitError,
 * and the client goes on.
 */
import { expect } from "chai";
import { Readable } from "node:stream";
import { FtpLimitError } from "../../lib/index.js";
import { FaultCase, rejectsWith } from "./helpers.js";

describe("faults: an NLST without end", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  it("nlst() rejects with FtpLimitError (listingEntries) past 1,000,000 names, and the client goes on", async () => {
    fc = await FaultCase.start();
    const block = Buffer.from("n\r\n".repeat(10_000));
    fc.srv.handle("NLST", async (s) => {
      s.reply(150, "Here comes the directory listing.");
      // 1,020,000 names in 102 blocks of 10,000 lines: the limit is passed mid-stream.
      let blocks = 0;
      const names = new Readable({
        read() {
          this.push(blocks++ < 102 ? block : null);
        },
      });
      await s.sendData(names).catch(() => undefined);
      if (!s.abortRequested) s.reply(226, "Directory send OK.");
    });
    const ftp = fc.client();
    await ftp.ready;
    const error = await rejectsWith(ftp.nlst(), FtpLimitError);
    expect(error).to.include({ limit: "listingEntries", max: 1_000_000 });
    await fc.finish(ftp, false);
  });
});
