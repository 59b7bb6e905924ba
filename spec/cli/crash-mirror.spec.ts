/**
 * `ftpstream mirror --delete` SIGKILLed and run again, as cron runs it
 * after the OOM killer or a reboot (crash-harness.ts): downloads (always
 * through local part files), uploads with --part-files and without, on
 * the fixture and on a real server. After each kill every target file is
 * its old copy or its new one, whole (uploads without --part-files: or a
 * prefix of its new one, as partFiles' TSDoc says), no file of the source
 * that was in the target is gone, and nothing outside the target or in
 * the source changed; the run after the kills leaves the target equal to
 * the source with no part file. A few fixed seeds here, kept few for
 * time: each kill comes at a command (none a time after one, which a
 * loaded machine could outrun), and the download's and the --part-files
 * upload's seeds fail where part files are skipped.
 * FTPSTREAM_CRASH_SEED replays a seed; crash-loop.ts runs many, and every
 * mode against every server, by hand.
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { describeServers } from "../interop/describe-server.js";
import { diskSide, mirrorCrashes, seedOf, vfsSide, type CrashSetup } from "./crash-harness.js";

/** mirrorCrashes with a fixed seed (or FTPSTREAM_CRASH_SEED's), which must kill at least one run. */
async function crashes(setup: CrashSetup, direction: "download" | "upload", partFiles: boolean, fixed: number): Promise<void> {
  const seed = seedOf(fixed);
  const seen = await mirrorCrashes(setup, direction, partFiles, seed);
  expect(seen.kills, `seed ${seed}: no run was killed`).to.be.greaterThan(0);
}

describe("ftpstream mirror --delete killed (SIGKILL) and run again: the fixture", function () {
  let srv: FixtureServer;
  let work: string;
  beforeEach(async () => {
    srv = await FixtureServer.start({ files: { "/t/": "", "/other/": "" } });
    work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-crash-"));
  });
  afterEach(async () => {
    await srv.close();
    await fs.rm(work, { recursive: true, force: true });
  });
  const setup = (): CrashSetup => ({
    server: { host: srv.host, port: srv.port, user: "user", password: "pass" },
    remote: (dir) => vfsSide(srv.vfs, `/${dir}`),
    work,
  });

  it("download: each kill leaves every local file old or new and whole; the next run finishes the mirror", () =>
    crashes(setup(), "download", true, 16));
  it("upload without --part-files: a file may be torn (a prefix of its new copy), never gone; the next run finishes the mirror", () =>
    crashes(setup(), "upload", false, 13));
});

describeServers(
  "ftpstream mirror --delete killed (SIGKILL) and run again",
  () => [{ label: "passive" }],
  ({ server }) => {
    let work: string;
    beforeEach(async () => {
      work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-crash-"));
      for (const dir of ["t", "other"]) await fs.rm(path.join(server().home, dir), { recursive: true, force: true });
    });
    afterEach(() => fs.rm(work, { recursive: true, force: true }));
    const setup = async (): Promise<CrashSetup> => {
      const s = server();
      const owner = await fs.stat(s.home);
      for (const dir of ["t", "other"]) {
        await fs.mkdir(path.join(s.home, dir));
        await fs.chown(path.join(s.home, dir), owner.uid, owner.gid);
      }
      return { server: s, remote: (dir) => diskSide(path.join(s.home, dir), owner), work };
    };

    it("upload --part-files: each kill leaves every remote file old or new and whole; the next run finishes the mirror", async () =>
      crashes(await setup(), "upload", true, 27));
  },
  ["proftpd"],
);
