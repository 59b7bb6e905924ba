/**
 * A directory above a download's target swapped for a symbolic link
 * between the check of the directories and the part file's creation (a
 * hostile local user, or two jobs at once): the part is created through the
 * link, outside the target, since Node opens by path. Checked again once
 * the part exists, the download is refused before a byte is fetched, and
 * the empty part removed; checked only after the transfer, the whole file
 * was written outside the target first.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BigIntStats } from "node:fs";
import { FtpPathError } from "../../lib/index.js";
import { LocalWrites, writeThroughPart } from "../../lib/part-file.js";
import { rejectionOf } from "../core/helpers.js";
import { writing } from "./part-writes.js";

/** LocalWrites that swaps `sub` for a link to `outside` when asked about the target: after the directories were checked, before the part is made. */
class SwappingWrites extends LocalWrites {
  constructor(
    private readonly root: string,
    private readonly outside: string,
  ) {
    super();
  }

  override assertNotWritten(found: BigIntStats | undefined, path: string): void {
    renameSync(join(this.root, "sub"), join(this.root, "sub-aside"));
    symlinkSync(this.outside, join(this.root, "sub"));
    super.assertNotWritten(found, path);
  }
}

describe("sync: a directory swapped for a link while a download's part is made", () => {
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), "ftpstream-part-dirs-swapped-"));
    mkdirSync(join(work, "root", "sub"), { recursive: true });
    mkdirSync(join(work, "outside"));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it("refuses before fetching (FtpPathError link) and leaves nothing outside the target", async () => {
    const root = join(work, "root");
    let fetched = false;
    const error = await rejectionOf(
      writeThroughPart(
        root,
        "sub/a.txt",
        writing("secret bytes", async () => {
          fetched = true;
        }),
        new SwappingWrites(root, join(work, "outside")),
      ),
    );
    expect(error).to.be.instanceOf(FtpPathError).and.include({ reason: "link", path: "sub" });
    expect(fetched, "a byte fetched into the part made through the link").to.equal(false);
    expect(readdirSync(join(work, "outside")), "what is left beside the target").to.deep.equal([]);
  });
});
