/**
 * FtpPool.downloadSegmented to a local path that is a directory: the
 * other downloads refuse it before their RETR (FtpPathError, reason
 * "directory"), since the rename after the transfer fails there (EISDIR);
 * downloadSegmented fetched the whole file on every connection, then
 * failed its rename and threw it away, call after call.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { patternFile } from "../../fixtures/server.js";
import { FtpPathError } from "../../lib/index.js";
import { rejectionOf } from "../core/helpers.js";
import { usePoolFixture } from "../pool/pool-fixture.js";

describe("sync: review of FtpPool.downloadSegmented to a local directory", () => {
  const fixture = usePoolFixture({ files: { "/f.bin": patternFile(4096) } });
  let local: string;
  beforeEach(() => void (local = mkdtempSync(join(tmpdir(), "ftpstream-segmented-dir-"))));
  afterEach(() => rmSync(local, { recursive: true, force: true }));

  for (const full of [false, true]) {
    it(`refuses ${full ? "a non-empty" : "an empty"} directory at the local path before any RETR, leaving it and no part file`, async () => {
      const target = join(local, "out.bin");
      mkdirSync(target);
      if (full) writeFileSync(join(target, "kept.txt"), "k");
      const error = await rejectionOf(fixture.poolOf(2).downloadSegmented("/f.bin", target, { segments: 2, minSegmentSize: 1 }));
      expect(error).to.be.instanceOf(FtpPathError);
      expect((error as FtpPathError).reason).to.equal("directory");
      expect(fixture.server.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal([]);
      expect(readdirSync(local)).to.deep.equal(["out.bin"]);
      expect(readdirSync(target)).to.deep.equal(full ? ["kept.txt"] : []);
    });
  }
});
