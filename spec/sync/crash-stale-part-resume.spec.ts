/**
 * uploadDir with `partFiles` and `retry`, the run after a crash that left
 * its part of a file (another version) on the server: a STOR cut short
 * after its 150 but before the server opened the file (a server that
 * truncates once data comes, as the fixture does) was resumed from SIZE of
 * that stale part, REST at its size, and the file renamed into place held
 * the killed run's bytes before this run's: two versions spliced, reported
 * transferred. The stale part is now deleted before the STOR; a file with
 * no stale part listed costs no DELE.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP } from "../../lib/index.js";

const NEW = Buffer.alloc(200_000, "N");
const STALE = Buffer.alloc(1000, "S");
const PART = "/t/.f.bin.ftpstream-part";

describe("uploadDir partFiles under retry, after a crash that left a stale part", () => {
  let srv: FixtureServer;
  let ftp: FTP | undefined;
  let work: string;
  afterEach(async () => {
    ftp?.close();
    ftp = undefined;
    await srv.close();
    await fs.rm(work, { recursive: true, force: true });
  });

  async function upload(files: Record<string, string | Buffer>): Promise<number> {
    srv = await FixtureServer.start({ files });
    // The first STOR is cut short after its 150, while the client's bytes come, before the file is opened.
    srv.once("STOR", async (s) => {
      s.takeRest();
      s.reply(150, "Ok to send data.");
      await s.openData();
      await s.sleep(100);
      s.drop();
    });
    work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-stale-part-"));
    await fs.writeFile(path.join(work, "f.bin"), NEW);
    ftp = await FTP.create({ host: srv.host, port: srv.port, user: "user", password: "pass", retry: { attempts: 2, minDelay: 10 } });
    return (await ftp.uploadDir(work, "/t", { partFiles: true })).transferred;
  }

  it("deletes the stale part before its STOR: the resumed upload starts again from 0, and the file is this run's alone", async () => {
    expect(await upload({ "/t/f.bin": "the old copy", [PART]: STALE })).to.equal(1);
    expect(srv.vfs.get("/t/f.bin")?.equals(NEW), "the target is the new copy, whole").to.equal(true);
    expect(srv.vfs.exists(PART)).to.equal(false);
    const sent = srv.commands.filter((line) => /^(DELE|STOR|REST) /.test(line));
    expect(sent.slice(0, 2)).to.deep.equal([`DELE ${PART}`, `STOR ${PART}`]);
    expect(sent).not.to.include("REST 1000");
  });

  it("sends no DELE for a file with no stale part listed", async () => {
    expect(await upload({ "/t/f.bin": "the old copy" })).to.equal(1);
    expect(srv.vfs.get("/t/f.bin")?.equals(NEW)).to.equal(true);
    expect(srv.commands.filter((line) => line.startsWith("DELE "))).to.deep.equal([]);
  });
});
