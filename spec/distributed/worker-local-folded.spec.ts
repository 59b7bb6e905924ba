/**
 * The queue worker's download jobs on a disk that folds letter case or
 * Unicode form (macOS, Windows): jobs for `README` and `readme` (or `café`
 * in NFC and in NFD) write one local file. Each job was reported done, the
 * second written over the first, and an unchanged rerun flipped the file
 * back and forth for ever. A worker sees one job at a time, so what it
 * knows is the local directory: a file found at the job's name that the
 * directory holds under another spelling is another job's, and the job
 * fails (FtpPathError, reason "same-file", at once) before it is fetched.
 *
 * This machine's disks fold nothing: as in faults/local-target-folded-rerun,
 * the folding is played by a hard link from the second name to the first's
 * file (both names then listed, one inode). A real folding disk lists only
 * the first spelling: that case is played by assertOwnSpelling itself, on
 * a directory that does not list the name it is asked about. No Redis: the
 * jobs are handed to the processor as BullMQ would.
 */
import { expect } from "chai";
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpPathError } from "../../lib/index.js";
import { assertOwnSpelling } from "../../lib/local-names.js";
import { failsAtOnce } from "../../lib/queue-failure.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";
import { downloadJob, jobBounds, processJob } from "./tree-job.js";

describe("queue worker download jobs: two remote names that are one local file", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-worker-local-folded-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const [kind, first, second] of [
    ["letter case", "README", "readme"],
    ["Unicode form (NFC, NFD)", "caf\u00e9.txt", "cafe\u0301.txt"],
    ["letter case, in a directory", "docs/README", "docs/readme"],
  ] as const) {
    it(`${kind}: the second name's job fails at once (same-file) before it is fetched; the first's file keeps its bytes`, async () => {
      const srv = await fx.server({ files: { [`/r/${first}`]: "upper", [`/r/${second}`]: "the lower one" } });
      const connect = (): ReturnType<typeof fx.client> => fx.client(srv);
      expect(await processJob(downloadJob(srv, dir, first, 5), connect, jobBounds(srv, dir))).to.deep.equal({
        outcome: "transferred",
        bytes: 5,
      });
      // The disk now finds the first name's file at the second name.
      linkSync(join(dir, first), join(dir, second));
      const from = srv.commands.length;

      const error = await rejectionOf(processJob(downloadJob(srv, dir, second, 13), connect, jobBounds(srv, dir)));
      expect(failsAtOnce(error), String(error)).to.equal(true);
      const cause = (error as Error & { cause?: unknown }).cause;
      expect(cause).to.be.instanceOf(FtpPathError);
      expect(cause).to.include({ reason: "same-file", path: second });
      expect((cause as Error).message).to.include(JSON.stringify(first.split("/").pop()));
      expect(readFileSync(join(dir, first), "utf8")).to.equal("upper");
      expect(srv.commands.slice(from).filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
    });
  }

  it("hard links under names that fold to none of each other are no such case: the job replaces its own name", async () => {
    const srv = await fx.server({ files: { "/r/b.txt": "new b" } });
    writeFileSync(join(dir, "a.txt"), "a's bytes");
    linkSync(join(dir, "a.txt"), join(dir, "b.txt"));
    const result = await processJob(downloadJob(srv, dir, "b.txt", 5), () => fx.client(srv), jobBounds(srv, dir));
    expect(result).to.deep.equal({ outcome: "transferred", bytes: 5 });
    expect(readFileSync(join(dir, "b.txt"), "utf8")).to.equal("new b");
    // Renamed over b.txt: the other name keeps its file.
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("a's bytes");
  });

  it("a file over which the job writes, listed under its own spelling only, is replaced as before", async () => {
    const srv = await fx.server({ files: { "/r/d/x.txt": "new" } });
    mkdirSync(join(dir, "d"));
    writeFileSync(join(dir, "d/x.txt"), "old bytes");
    const result = await processJob(downloadJob(srv, dir, "d/x.txt", 3), () => fx.client(srv), jobBounds(srv, dir));
    expect(result).to.deep.equal({ outcome: "transferred", bytes: 3 });
    expect(readFileSync(join(dir, "d/x.txt"), "utf8")).to.equal("new");
  });

  describe("assertOwnSpelling, as a folding disk lists a directory", () => {
    it("a level its directory does not list as spelled, but under one name folding to it: refused, naming that name", async () => {
      mkdirSync(join(dir, "Docs"));
      writeFileSync(join(dir, "Docs/x.txt"), "x");
      // What lstat of docs/x.txt finds on a folding disk: Docs/x.txt's file.
      const found = lstatSync(join(dir, "Docs/x.txt"), { bigint: true });
      const error = await rejectionOf(assertOwnSpelling(dir, "docs/x.txt", found));
      expect(error).to.be.instanceOf(FtpPathError);
      expect(error).to.include({ reason: "same-file", path: "docs/x.txt" });
      expect(error.message).to.include('"docs" is the one its directory holds as "Docs"');
    });

    it("the file's own name not listed, nor any folding to it: refused all the same (the disk found it under another spelling)", async () => {
      writeFileSync(join(dir, "a.txt"), "a");
      const found = lstatSync(join(dir, "a.txt"), { bigint: true });
      const error = await rejectionOf(assertOwnSpelling(dir, "\uff41.txt", found));
      expect(error).to.include({ reason: "same-file", path: "\uff41.txt" });
      expect(error.message).to.include("another spelling");
    });

    it("every level listed as spelled, no other name folding to one: nothing refused", async () => {
      mkdirSync(join(dir, "Docs"));
      writeFileSync(join(dir, "Docs/x.txt"), "x");
      writeFileSync(join(dir, "Docs/X.bak"), "x");
      await assertOwnSpelling(dir, "Docs/x.txt", lstatSync(join(dir, "Docs/x.txt"), { bigint: true }));
    });
  });
});
