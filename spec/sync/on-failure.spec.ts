/**
 * DirTransferOptions.onFailure: each path's failure as it happens. A call
 * that its `signal` aborts rejects with the signal's reason, which carries
 * none of the failures before it; onFailure is how a caller (the CLI's
 * mirror stopped by SIGTERM) can still name them: that case end to end is
 * in spec/cli/mirror-local-faults.spec.ts.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpDirTransferError, type FtpPathFailure } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

describe("tree transfers: onFailure", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-on-failure-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fx = useFixtures();

  it("downloadDir: is told each failure as it happens, the same the error's failures hold", async () => {
    const srv = await fx.server({ files: { "/r/a.txt": "alpha\n", "/r/bad.txt": "x", "/r/sub/b.txt": "beta\n" } });
    srv.handle("RETR", (s, arg) => (arg.endsWith("bad.txt") ? s.reply(550, "bad.txt: Permission denied.") : s.defaultHandler("RETR", arg)));
    const ftp = await fx.client(srv);
    const told: FtpPathFailure[] = [];
    const error = await ftp.downloadDir("/r", join(dir, "out"), { onFailure: (failure) => told.push(failure) }).then(
      () => expect.fail("downloadDir succeeded"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(FtpDirTransferError);
    expect(told.map((failure) => failure.path)).to.deep.equal(["bad.txt"]);
    expect(told).to.deep.equal((error as FtpDirTransferError).failures);
  });
});
