/**
 * `ftpstream mirror --delete` names on stderr each link (or special file)
 * of the target that the source lacks and that it therefore did not
 * delete (DirTransferResult.kept): without it, a run that exits 0 said
 * nothing of a target that is no mirror of its source.
 */
import { expect } from "chai";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, useCliFixture } from "./run-cli.js";

const KEPT = "not deleted (link or special file in the target, not in the source): ";

describe("ftpstream mirror --delete and links in the target", function () {
  const { dir, start, url } = useCliFixture("ftpstream-mirror-kept-");

  it("names a remote link an upload kept", async () => {
    const srv = await start({ files: { "/t/a.txt": "a" } });
    srv.handle("MLSD", async (s, arg) => {
      if (arg.replace(/^\//, "") !== "t") return s.defaultHandler("MLSD", arg);
      s.reply(150, "Here comes the directory listing.");
      const lines = ["type=cdir; .", "type=file;size=1;modify=20200101000000; a.txt", "type=OS.unix=slink:/etc;modify=20200101000000; lnk"];
      await s.sendData(lines.map((line) => `${line}\r\n`).join(""));
      s.reply(226, "Directory send OK.");
    });
    writeFileSync(join(dir(), "a.txt"), "a");
    const run = await runCli(["mirror", "--delete", dir(), url(srv, "t")]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.include(`${KEPT}lnk\n`);
  });

  it("names a local link a download kept, and says nothing of it without --delete", async () => {
    const srv = await start({ files: { "/t/a.txt": "a" } });
    const local = join(dir(), "local");
    const first = await runCli(["mirror", url(srv, "t"), local]);
    expect(first.code, first.stderr).to.equal(0);
    symlinkSync("/etc", join(local, "lnk"));
    const plain = await runCli(["mirror", url(srv, "t"), local]);
    expect(plain.stderr).to.not.include(KEPT);
    const run = await runCli(["mirror", "--delete", url(srv, "t"), local]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.include(`${KEPT}lnk\n`);
  });
});
