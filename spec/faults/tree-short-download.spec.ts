/**
 * downloadDir never puts a cut file in place of a good one. A server whose
 * 150 announces no size (pure-ftpd, pyftpdlib) and whose data connection
 * is cut with a FIN reads as a whole file ending in 226; the listing's
 * size says otherwise. The bytes stand only where SIZE now gives that very
 * count (the file changed since the listing); else the file is a failure
 * (FtpSizeMismatchError) and the local copy stays as it was.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpSizeMismatchError } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { cutShort, FULL } from "./cut-short.js";

describe("faults: downloadDir and a download cut short that ends in 226", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-tree-short-"));
    writeFileSync(join(dir, "a.txt"), "the old copy");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function server(): Promise<FixtureServer> {
    return fx.server({ files: { "/d/a.txt": FULL, "/d/b.txt": "bbb" } });
  }

  for (const pipelining of [true, false]) {
    const how = pipelining ? "streamed" : "listed first";
    it(`fails the file with FtpSizeMismatchError and keeps the local copy when SIZE agrees with the listing (${how})`, async () => {
      const srv = await server();
      srv.handle("RETR", (s, arg) => (arg.endsWith("a.txt") ? cutShort(s) : s.defaultHandler("RETR", arg)));
      const ftp = await fx.client(srv);
      let error: unknown;
      await ftp.downloadDir("/d", dir, { pipelining }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      const failures = (error as FtpDirTransferError).failures;
      expect(failures.map((f) => f.path)).to.deep.equal(["a.txt"]);
      expect(failures[0].error).to.be.instanceOf(FtpSizeMismatchError);
      expect(failures[0].error).to.include({ expected: 10, received: 5 });
      expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("the old copy");
      expect(readFileSync(join(dir, "b.txt"), "utf8")).to.equal("bbb");
      // No part file is left behind.
      expect(readdirSync(dir).sort()).to.deep.equal(["a.txt", "b.txt"]);
    });
  }

  it("fails the file when SIZE is refused, and asks nothing for a file whose count matches the listing", async () => {
    const srv = await server();
    srv.handle("RETR", (s, arg) => (arg.endsWith("a.txt") ? cutShort(s) : s.defaultHandler("RETR", arg)));
    srv.handle("SIZE", (s) => s.reply(550, "Could not get file size."));
    const ftp = await fx.client(srv);
    let error: unknown;
    await ftp.downloadDir("/d", dir).catch((e: unknown) => (error = e));
    const failures = (error as FtpDirTransferError).failures;
    expect(failures.map((f) => f.path)).to.deep.equal(["a.txt"]);
    expect(failures[0].error).to.be.instanceOf(FtpSizeMismatchError);
    expect(failures[0].error).to.include({ expected: 10, received: 5 });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("the old copy");
    expect(srv.commands.filter((line) => line.startsWith("SIZE"))).to.deep.equal(["SIZE /d/a.txt"]);
  });

  it("takes a file that changed since the listing when SIZE gives the count received", async () => {
    const srv = await server();
    // Rewritten between the listing and the RETR: SIZE now gives the new length.
    srv.once("RETR", async (s, arg) => {
      srv.vfs.set("/d/a.txt", "shorter");
      await s.defaultHandler("RETR", arg);
    });
    const ftp = await fx.client(srv);
    const result = await ftp.downloadDir("/d", dir, { pipelining: false });
    expect(result.transferred).to.equal(2);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).to.equal("shorter");
    expect(existsSync(join(dir, ".a.txt.ftpstream-part"))).to.equal(false);
  });
});
