/**
 * A part file replaced while it is written is not put in place. Two runs
 * writing the same tree at once (cron starting the next run before the
 * last one ended) share part names: the second takes the first's part
 * file for a stale one left by a killed run, unlinks it and writes its own
 * there. Renamed by the first run when its transfer ends, that file would
 * be reported done, whole, while the second run is still writing it.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpError } from "../../lib/index.js";
import { partName, writeThroughPart } from "../../lib/part-file.js";
import { rejectionOf } from "../core/helpers.js";
import { writing } from "./part-writes.js";

describe("sync: a part file replaced while it is written (two runs at once)", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "ftpstream-part-replaced-"));
    writeFileSync(join(root, "a.txt"), "the old copy");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("fails with ERR_FTP_PART_FILE, leaves the target as it was and the other run's part file alone", async () => {
    const part = partName(join(root, "a.txt"));
    const error = await rejectionOf(
      writeThroughPart(
        root,
        "a.txt",
        writing("all of it", async () => {
          // The other run: the part taken for a stale one, its own written in its place, not finished yet.
          await rm(part);
          writeFileSync(part, "half");
        }),
      ),
    );
    expect(error).to.be.instanceOf(FtpError);
    expect(error).to.include({ code: "ERR_FTP_PART_FILE" });
    expect(error.message).to.include("was replaced while it was written");
    expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("the old copy");
    expect(readFileSync(part, "utf8")).to.equal("half");
  });

  it("two downloads of one file at once: the one whose part was taken fails, the other puts its whole file in place", async () => {
    let releaseFirst!: () => void;
    const firstMayEnd = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    const first = rejectionOf(
      writeThroughPart(
        root,
        "a.txt",
        writing("first run's copy", async () => {
          firstStarted();
          await firstMayEnd;
        }),
      ),
    );
    await started;
    // The second run starts while the first is still writing, and ends first.
    expect(await writeThroughPart(root, "a.txt", writing("second run's copy"))).to.equal("second run's copy".length);
    releaseFirst();
    expect(await first).to.include({ code: "ERR_FTP_PART_FILE" });
    expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("second run's copy");
    expect(existsSync(partName(join(root, "a.txt")))).to.equal(false);
  });

  it("a part file that stayed its own is put in place as before", async () => {
    expect(await writeThroughPart(root, "a.txt", writing("new"))).to.equal(3);
    expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("new");
    expect(existsSync(partName(join(root, "a.txt")))).to.equal(false);
  });
});
