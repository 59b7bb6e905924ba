/**
 * A server that answers every directory with one more below it (a link
 * loop it follows, or a hostile one) is not walked for ever: a tree
 * transfer stops with FtpLimitError ("treeDepth") once a remote directory
 * lies more than 1,000 levels (or 32,767 characters) below the root. Each
 * path is longer than the last, so the memory held grows with the square
 * of the depth, long before maxEntries is reached.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpLimitError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";

describe("faults: a remote tree without a bottom", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-tree-depth-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A server whose every MLSD lists the directory itself and one directory `name` in it, and takes command lines of any length. */
  async function bottomless(name: string): Promise<{ srv: FixtureServer; listings: () => number }> {
    const srv = await fx.server({ files: { "/d/": "" }, maxLineLength: 1 << 30 });
    let listings = 0;
    srv.handle("MLSD", async (s) => {
      listings++;
      s.reply(150, "Here comes the directory listing.");
      await s.sendData(`type=cdir;perm=el; .\r\ntype=dir;perm=el;modify=20200101000000; ${name}\r\n`);
      s.reply(226, "Directory send OK.");
    });
    return { srv, listings: () => listings };
  }

  for (const pipelining of [true, false]) {
    it(`downloadDir stops with FtpLimitError (treeDepth) after 1,000 levels (${pipelining ? "streamed" : "listed first"})`, async () => {
      const { srv, listings } = await bottomless("a");
      const ftp = await fx.client(srv);
      let error: unknown;
      await ftp.downloadDir("/d", dir, { pipelining }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(FtpLimitError);
      expect(error).to.include({ limit: "treeDepth", max: 1000 });
      // The root and the 1,000 levels below it were listed; the 1,001st was not.
      expect(listings()).to.equal(1001);
    });
  }

  it("stops at 32,767 characters below the root, whatever the depth", async () => {
    // 250 bytes: a longer name is refused before the depth counts (no local file can hold it: name-too-long).
    const name = "n".repeat(250);
    const { srv, listings } = await bottomless(name);
    const ftp = await fx.client(srv);
    let error: unknown;
    await ftp.downloadDir("/d", dir, { pipelining: false }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(FtpLimitError);
    expect(error).to.include({ limit: "treeDepth" });
    // The root and 130 levels of 250 characters (32,629 with the slashes) were listed; the 131st level is too long.
    expect(listings()).to.equal(131);
  });
});
