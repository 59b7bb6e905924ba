/**
 * The queue worker makes a download job's missing local directories one
 * level at a time, each checked with lstat once made (a real directory,
 * not a link) before the next is made and before anything is written. A
 * recursive mkdir, after a check of the levels made well before it, went
 * through a directory swapped for a link to outside the local root in
 * between, and made every missing level below it out there (empty
 * directories; the write itself was refused after). The swap is played
 * while the job asks the server for the file's time (MDTM), between the
 * job's first check of its levels and its mkdir. No Redis: the job is
 * handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILTINS } from "../../fixtures/builtins.js";
import { FtpPathError } from "../../lib/index.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { downloadJob, jobBounds, processJob } from "./tree-job.js";

describe("queue worker download jobs: a directory swapped for a link before the job's mkdir", () => {
  const fx = useFixtures();
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-worker-local-dirs-"));
    outside = mkdtempSync(join(tmpdir(), "ftpstream-worker-local-outside-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  for (const swapped of ["a", "a/b"]) {
    it(`${swapped} swapped for a link to outside the root: the job fails (link) and no directory is made out there`, async () => {
      const srv = await fx.server({ files: { "/r/a/b/c/d/f.txt": "fresh" } });
      let swaps = 0;
      srv.handle("MDTM", async (s, arg) => {
        if (swaps++ === 0) {
          renameSync(join(dir, swapped), join(dir, "moved"));
          symlinkSync(outside, join(dir, swapped));
        }
        await BUILTINS.MDTM(s, arg);
      });
      // Found with the job's size and an older time: the job asks the server's time (MDTM), then downloads.
      mkdirSync(join(dir, "a/b/c/d"), { recursive: true });
      writeFileSync(join(dir, "a/b/c/d/f.txt"), "stale");
      const error = await rejectionOf(processJob(downloadJob(srv, dir, "a/b/c/d/f.txt", 5), () => fx.client(srv), jobBounds(srv, dir)));
      expect(swaps, "the swap was made").to.equal(1);
      const cause = (error as Error & { cause?: unknown }).cause ?? error;
      expect(cause).to.be.instanceOf(FtpPathError);
      expect(cause).to.include({ reason: "link", path: swapped });
      expect(readdirSync(outside), "made outside the root").to.deep.equal([]);
    });
  }
});
