/**
 * downloadSegmented's segments start at different times on different
 * connections: a remote file replaced between two of them (same size with
 * other bytes, or another size the last segment does not see) gave a
 * local file spliced from two versions, renamed into place as complete.
 * SIZE and MDTM asked before the first segment and after the last one
 * catch it: FtpSourceChangedError, no part file, the old local file kept.
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILTINS } from "../../fixtures/builtins.js";
import { FixtureServer, patternBytes, patternFile } from "../../fixtures/server.js";
import { FTP, FtpPool, FtpSourceChangedError } from "../../lib/index.js";
import { rejectsWith } from "../faults/helpers.js";

const SIZE = 64 * 1024;
/** Two segments of 32 KiB. */
const TWO = { segments: 2, minSegmentSize: 1024 } as const;

describe("FtpPool.downloadSegmented with the file replaced between its segments", () => {
  let server: FixtureServer;
  let pool: FtpPool;
  let dir: string;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/f.bin": patternFile(SIZE) } });
    pool = new FtpPool({ size: 2, connect: () => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" }) });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-segmented-source-"));
  });

  afterEach(async () => {
    await pool.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The last segment (REST 32768) is served first, whole; then the file is
   * replaced by `next`; only then is the first segment (no REST) served, and
   * cut at 32768 by the client: it reads the new version, the last one the
   * old, and the last one's size checks see nothing wrong.
   */
  function replaceBetweenSegments(next: Buffer): void {
    let lastDone!: () => void;
    const lastServed = new Promise<void>((resolve) => (lastDone = resolve));
    server.handle("RETR", async (s, arg) => {
      if (s.state.rest > 0) {
        await BUILTINS.RETR(s, arg);
        server.vfs.set("/f.bin", next);
        lastDone();
      } else {
        await lastServed;
        await BUILTINS.RETR(s, arg);
      }
    });
  }

  const cases: Array<[string, Buffer]> = [
    ["another file of the same size (other bytes, a new MDTM)", Buffer.alloc(SIZE, 0x78)],
    // Smaller, still past the first segment's end: a bigger one may be refused by the first segment's own check (more than the file's size after REST 0).
    ["a smaller file", Buffer.alloc(SIZE - 1024, 0x79)],
  ];
  for (const [what, next] of cases) {
    it(`fails with FtpSourceChangedError for ${what}, leaving the old local file as it was`, async () => {
      replaceBetweenSegments(next);
      const target = join(dir, "f.bin");
      writeFileSync(target, "old local copy");
      const error = await rejectsWith(pool.downloadSegmented("/f.bin", target, TWO), FtpSourceChangedError);
      expect(error.code).to.equal("ERR_FTP_SOURCE_CHANGED");
      expect(error.reason).to.equal("changed");
      expect(error.path).to.equal("/f.bin");
      expect(readdirSync(dir)).to.deep.equal(["f.bin"]);
      expect(readFileSync(target, "utf8")).to.equal("old local copy");
      // Both segments ran: the check after the last one caught it, not a segment's own.
      expect(server.commands.filter((line) => line.startsWith("RETR "))).to.have.length(2);
    });
  }

  it("compares the size alone on a server without MDTM: a file of another size still fails", async () => {
    server.handle("MDTM", (s) => s.reply(500, "Unknown command."));
    replaceBetweenSegments(Buffer.alloc(SIZE - 1024, 0x79));
    const error = await rejectsWith(pool.downloadSegmented("/f.bin", join(dir, "f.bin"), TWO), FtpSourceChangedError);
    expect(error.message).to.match(/SIZE was 65536 before the first segment, 64512 after the last/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it("fails when the file is gone after the last segment", async () => {
    // The first segment is served whole, then the last one, after which the file goes.
    let firstDone!: () => void;
    const firstServed = new Promise<void>((resolve) => (firstDone = resolve));
    server.handle("RETR", async (s, arg) => {
      if (s.state.rest > 0) {
        await firstServed;
        await BUILTINS.RETR(s, arg);
        server.vfs.remove("/f.bin");
      } else {
        // Cut by the client's ABOR at its end: the last segment goes on however that ends.
        try {
          await BUILTINS.RETR(s, arg);
        } finally {
          firstDone();
        }
      }
    });
    const error = await rejectsWith(pool.downloadSegmented("/f.bin", join(dir, "f.bin"), TWO), FtpSourceChangedError);
    expect(error.message).to.match(/SIZE after the last segment was refused/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it("takes an unchanged file byte-exact, at the cost of one MDTM with the first SIZE and a SIZE + MDTM at the end", async () => {
    const target = join(dir, "f.bin");
    expect(await pool.downloadSegmented("/f.bin", target, TWO)).to.equal(SIZE);
    expect(readFileSync(target).equals(patternBytes(0, SIZE))).to.equal(true);
    expect(readdirSync(dir)).to.deep.equal(["f.bin"]);
    const asked = server.commands.filter((line) => /^(SIZE|MDTM|RETR) /.test(line));
    // Before this check: one SIZE and the two RETRs.
    expect(asked.filter((line) => line.startsWith("SIZE "))).to.deep.equal(["SIZE /f.bin", "SIZE /f.bin"]);
    expect(asked.filter((line) => line.startsWith("MDTM "))).to.deep.equal(["MDTM /f.bin", "MDTM /f.bin"]);
    expect(asked.slice(0, 2)).to.deep.equal(["SIZE /f.bin", "MDTM /f.bin"]);
    expect(asked.slice(-2)).to.deep.equal(["SIZE /f.bin", "MDTM /f.bin"]);
  });

  it("takes an unchanged file from a server without MDTM (the size alone compared)", async () => {
    server.handle("MDTM", (s) => s.reply(500, "Unknown command."));
    const target = join(dir, "f.bin");
    expect(await pool.downloadSegmented("/f.bin", target, TWO)).to.equal(SIZE);
    expect(readFileSync(target).equals(patternBytes(0, SIZE))).to.equal(true);
  });
});
