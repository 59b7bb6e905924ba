/**
 * downloadSegmented knows the file's size (SIZE) before it starts: a
 * server that sends more than that on a segment that runs to the end of
 * the file (the last one, or the only one) is refused as soon as it has,
 * not read until it stops. Its 150 announcing no size (pure-ftpd,
 * pyftpdlib), nothing else bounded it: the download read for ever, the
 * bytes past the end thrown away.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, patternFile } from "../../fixtures/server.js";
import { FTP, FtpPool, FtpSizeMismatchError } from "../../lib/index.js";
import { EndlessData } from "../faults/endless-server.js";
import { rejectsWith } from "../faults/helpers.js";

const SIZE = 64 * 1024;

describe("FtpPool.downloadSegmented against a server that sends past the file's end", () => {
  let server: FixtureServer;
  let pool: FtpPool;
  let dir: string;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/f.bin": patternFile(SIZE) } });
    pool = new FtpPool({ size: 2, connect: () => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" }) });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-segmented-hostile-"));
  });

  afterEach(async () => {
    await pool.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [what, options] of [
    ["one segment", { segments: 1 }],
    ["the last of two segments", { segments: 2, minSegmentSize: 1024 }],
  ] as const) {
    it(`fails with FtpSizeMismatchError once ${what} brings more than the file's size, leaving no file`, async () => {
      // Every RETR: a 150 with no size, then "x" without end (the client's abort stops it).
      server.handle("RETR", async (s) => {
        s.takeRest();
        s.reply(150, "Opening BINARY mode data connection.");
        await s.sendData(new EndlessData()).then(
          () => s.reply(226, "Transfer complete."),
          () => undefined,
        );
      });
      const target = join(dir, "f.bin");
      const error = await rejectsWith(pool.downloadSegmented("/f.bin", target, options), FtpSizeMismatchError);
      expect(error.expected).to.be.at.most(SIZE);
      expect(readdirSync(dir)).to.deep.equal([]);
      // The pool's clients are still usable.
      expect(await pool.use((ftp) => ftp.pwd())).to.equal("/");
    });
  }

  it("still takes the file from a server that sends exactly its size", async () => {
    const target = join(dir, "f.bin");
    expect(await pool.downloadSegmented("/f.bin", target, { segments: 2, minSegmentSize: 1024 })).to.equal(SIZE);
    expect(readdirSync(dir)).to.deep.equal(["f.bin"]);
  });
});
