/**
 * DirTransferOptions.onFailure: each path's failure as it happens. A call
 * that its `signal` aborts rejects with the signal's reason, which carries
 * none of the failures before it; onFailure is how a caller (the CLI's
 * mirror stopped by SIGTERM) can still name them.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

  it("uploadDir: a call its signal aborts rejects with the signal's reason, and onFailure has told the failures before it", async () => {
    const srv = await fx.server({ files: { "/r/": "" } });
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src/bad.txt"), "x");
    writeFileSync(join(dir, "src/z.txt"), "zeta\n");
    const controller = new AbortController();
    srv.handle("STOR", (s, arg) => {
      if (arg.endsWith("bad.txt")) return s.reply(553, "bad.txt: Not allowed.");
      // The next file: the run is stopped while it is under way.
      controller.abort(new Error("stopped"));
      return s.defaultHandler("STOR", arg);
    });
    const ftp = await fx.client(srv);
    const told: FtpPathFailure[] = [];
    const error = await ftp
      .uploadDir(join(dir, "src"), "/r", { signal: controller.signal, pipelining: false, onFailure: (failure) => told.push(failure) })
      .then(
        () => expect.fail("uploadDir succeeded"),
        (e: unknown) => e,
      );
    expect((error as Error).message).to.equal("stopped");
    expect(told.map((failure) => failure.path)).to.deep.equal(["bad.txt"]);
    expect(told[0]?.error.message).to.match(/553 bad\.txt: Not allowed\./);
  });
});
