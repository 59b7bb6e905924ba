/**
 * FtpPool.downloadSegmented starts each segment with REST. A server that
 * lists REST STREAM and answers REST with 350, yet sends from byte 0,
 * would write the file's start into every segment: the last segment, which
 * reads the server's whole answer, then gets more bytes than its REST
 * leaves, and the download fails (FtpSizeMismatchError) with no file left
 * in place.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, patternFile } from "../../fixtures/server.js";
import { FTP, FtpPool, FtpSizeMismatchError } from "../../lib/index.js";
import { rejectsWith } from "./helpers.js";

const MiB = 1024 * 1024;

describe("faults: downloadSegmented from a server that ignores REST", () => {
  let server: FixtureServer;
  let pool: FtpPool;
  let dir: string;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/big.bin": patternFile(3 * MiB) } });
    pool = new FtpPool({ size: 3, connect: () => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" }) });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-segmented-rest-"));
  });

  afterEach(async () => {
    await pool.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("rejects with FtpSizeMismatchError and leaves the old file as it was, no part file", async () => {
    server.handle("REST", (s) => s.reply(350, "Restart position accepted."));
    const target = join(dir, "big.bin");
    writeFileSync(target, "the old copy");
    await rejectsWith(pool.downloadSegmented("/big.bin", target, { segments: 3, minSegmentSize: MiB }), FtpSizeMismatchError);
    expect(readFileSync(target, "utf8")).to.equal("the old copy");
    expect(readdirSync(dir)).to.deep.equal(["big.bin"]);
  });

  it("still downloads from a server that honours REST", async () => {
    const target = join(dir, "big.bin");
    expect(await pool.downloadSegmented("/big.bin", target, { segments: 3, minSegmentSize: MiB })).to.equal(3 * MiB);
    expect(existsSync(target)).to.equal(true);
    expect(readdirSync(dir)).to.deep.equal(["big.bin"]);
  });
});
