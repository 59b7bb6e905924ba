/**
 * Under `retry`, a download cut mid-way goes on from the byte delivered
 * (REST). A server that answers REST with 350 and still sends from byte 0
 * would hand the consumer the file's first part twice. The resume asks again
 * for the last bytes delivered (REST RESUME_OVERLAP bytes before them) and
 * compares them: the file's first bytes differ, and the download errors
 * (FtpSourceChangedError, as for a file replaced meanwhile) instead of
 * ending well. Where the first 150 named no size, SIZE is still asked
 * before the resumed RETR, for the check at the end.
 */
import { expect } from "chai";
import type { Session } from "../../fixtures/server.js";
import { FtpSourceChangedError } from "../../lib/index.js";
import { RESUME_OVERLAP } from "../../lib/resume-overlap.js";
import { FaultCase, outcome, resetOnceRead } from "./helpers.js";

const FILE = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
const RETRY = { attempts: 3, minDelay: 1, maxDelay: 5 };

describe("faults: a resumed download from a server that ignores REST", () => {
  let fc: FaultCase;
  afterEach(async () => {
    await fc?.dispose();
  });

  /** RETR: a 150 without a size; the first time half the file then a reset, later the whole file from byte 0 whatever REST said. */
  function ignoreRest(s: Session, first: boolean): Promise<void> {
    if (!first) {
      s.reply(150, "Opening BINARY mode data connection.");
      return s.sendData(FILE).then(() => s.reply(226, "Transfer complete."));
    }
    return (async () => {
      s.reply(150, "Opening BINARY mode data connection.");
      const data = await s.openData();
      data.write(FILE.subarray(0, 100_000));
      await resetOnceRead(data, 100_000);
      s.reply(426, "Connection reset.");
    })();
  }

  it("errors with FtpSourceChangedError instead of ending with the first part twice", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": FILE } });
    let retrs = 0;
    fc.srv.handle("REST", (s) => s.reply(350, "Restart position accepted."));
    fc.srv.handle("RETR", (s) => ignoreRest(s, ++retrs === 1));
    const ftp = fc.client({ retry: RETRY });
    await ftp.ready;
    const received: Buffer[] = [];
    const result = await outcome(
      (async () => {
        for await (const chunk of ftp.retrbinary("RETR /f.bin")) received.push(chunk as Buffer);
      })(),
    );
    expect(result.ok, "the download ended well").to.equal(false);
    expect((result as { error: unknown }).error).to.be.instanceOf(FtpSourceChangedError);
    expect(fc.srv.commands.filter((line) => /^(SIZE|REST|RETR)/.test(line))).to.deep.equal([
      "RETR /f.bin",
      "SIZE /f.bin",
      `REST ${100_000 - RESUME_OVERLAP}`,
      "RETR /f.bin",
    ]);
    await fc.finish(ftp, false);
  });

  it("still resumes from a server that honours REST, the whole file byte-exact", async () => {
    fc = await FaultCase.start({ files: { "/f.bin": FILE } });
    let retrs = 0;
    fc.srv.handle("RETR", (s, arg) => (++retrs === 1 ? ignoreRest(s, true) : s.defaultHandler("RETR", arg)));
    const ftp = fc.client({ retry: RETRY });
    await ftp.ready;
    const received: Buffer[] = [];
    for await (const chunk of ftp.retrbinary("RETR /f.bin")) received.push(chunk as Buffer);
    expect(Buffer.concat(received).equals(FILE)).to.equal(true);
    await fc.finish(ftp, false);
  });
});
