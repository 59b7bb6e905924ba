/**
 * `ftpstream put --part-files --retry` after a killed run left its part
 * file (another version) on the server. put lists nothing, so the stale
 * part is not deleted before the STOR (uploadDir does that from its
 * listing). A STOR cut after its 150 but before the server opened the file
 * (a server that truncates only once data comes, as the fixture does)
 * left the stale part, whose size SIZE then gave: the upload resumed there
 * (REST 1000), and the part renamed over the target held the killed run's
 * bytes before this run's, reported whole. The resume now reads the bytes
 * held back, finds them not its own, and starts over from 0.
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, useCliFixture } from "../cli/run-cli.js";

const NEW = Buffer.alloc(200_000, "N");
const STALE = Buffer.alloc(1000, "S");
const PART = "/t/.f.bin.ftpstream-part";

describe("put --part-files under --retry, over a stale part a killed run left", function () {
  const { dir, start, url } = useCliFixture("ftpstream-overlap-part-");

  it("does not resume onto the stale part's bytes: the target is this run's file exactly, no part left, exit 0", async () => {
    const srv = await start({ files: { "/t/f.bin": "the old copy", [PART]: STALE } });
    // The first STOR is cut short after its 150, while the client's bytes come, before the part is opened.
    srv.once("STOR", async (s) => {
      s.takeRest();
      s.reply(150, "Ok to send data.");
      await s.openData();
      await s.sleep(100);
      s.drop();
    });
    writeFileSync(join(dir(), "f.bin"), NEW);
    const run = await runCli(["put", "f.bin", url(srv, "t/f.bin"), "--part-files", "--retry", "2", "--quiet"], {
      cwd: dir(),
      stdout: "ignore",
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(srv.vfs.get("/t/f.bin")?.equals(NEW), "the target is the new file, whole and alone").to.equal(true);
    expect(srv.vfs.exists(PART)).to.equal(false);
    const sent = srv.commands.filter((line) => /^(STOR|REST|RETR|SIZE) /.test(line));
    // Cut; SIZE gives the stale part's 1000 bytes; they are read back, and the STOR goes again from 0.
    expect(sent.slice(0, 4)).to.deep.equal([
      "STOR t/.f.bin.ftpstream-part",
      "SIZE t/.f.bin.ftpstream-part",
      "RETR t/.f.bin.ftpstream-part",
      "STOR t/.f.bin.ftpstream-part",
    ]);
    expect(sent).not.to.include("REST 1000");
  });
});
