/**
 * A tree transfer over an FtpPool against a server that loses every
 * connection it lets in (drops it at each RETR or STOR, or answers each
 * with `421 ... closing`): each file's task got a new client, so the pool
 * connected and logged in once per listed file, as fast as it could, for
 * as many files as the server chose to list (100 files, 100 logins). Once
 * twice as many connections as the pool holds were lost in a row, the
 * files left fail at once with the last loss's error. A server that loses
 * a few and then serves still gets the rest of the tree fetched.
 */
import { expect } from "chai";
import { mkdtemp, readdir, rm, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpDirTransferError } from "../../lib/index.js";
import { rejection, usePoolFixture } from "../pool/pool-fixture.js";
import { CONNECTION_LOSSES, numberedTree, writeUploads } from "./lost-connections.js";

const FILES = 100;
const SIZE = 2;

const files = numberedTree(FILES);

/** Far below one connection per file: the bound (2 × SIZE in a row), the tasks already waiting for a client, the warm-up. */
const MOST_SESSIONS = 6 * SIZE;

describe("faults: a pool's tree transfer against a server that loses every connection", function () {
  const fx = usePoolFixture({ files });
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ftpstream-pool-losses-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [what, lose] of CONNECTION_LOSSES) {
    it(`downloadDir, the server ${what} at every RETR: fails every file after a few connections, not one each`, async () => {
      fx.server.handle("RETR", lose);
      const pool = fx.poolOf(SIZE, { timeout: 5000 });
      const error = await rejection(pool.downloadDir("/tree", join(dir, "tree")));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      expect((error as FtpDirTransferError).failures, "failed files").to.have.length(FILES);
      expect(fx.server.sessions.length, "connections made").to.be.at.most(MOST_SESSIONS);
      await pool.close();
      await fx.expectNoLeaks();
    });
  }

  it("uploadDir, the server dropping the connection at every STOR: the same", async () => {
    const local = join(dir, "up");
    await mkdir(local);
    await writeUploads(local, FILES);
    fx.server.handle("STOR", (s) => s.drop());
    const pool = fx.poolOf(SIZE, { timeout: 5000 });
    const error = await rejection(pool.uploadDir(local, "/up"));
    expect(error).to.be.instanceOf(FtpDirTransferError);
    expect((error as FtpDirTransferError).failures, "failed files").to.have.length(FILES);
    expect(fx.server.sessions.length, "connections made").to.be.at.most(MOST_SESSIONS);
    await pool.close();
    await fx.expectNoLeaks();
  });

  it("a server that drops a few connections, fewer than the bound in a row, then serves: the rest of the tree is fetched", async () => {
    let drops = 2 * SIZE - 1;
    fx.server.handle("RETR", async (s, arg) => {
      if (drops > 0) {
        drops--;
        s.drop();
        return;
      }
      await s.defaultHandler("RETR", arg);
    });
    const pool = fx.poolOf(SIZE, { timeout: 5000 });
    const error = await rejection(pool.downloadDir("/tree", join(dir, "tree")));
    expect(error).to.be.instanceOf(FtpDirTransferError);
    const failed = (error as FtpDirTransferError).failures.length;
    // A dropped RETR fails its file, and the one written ahead behind it on that connection.
    expect(failed, "failed files").to.be.within(2 * SIZE - 1, 2 * (2 * SIZE - 1));
    expect(await readdir(join(dir, "tree")), "files fetched").to.have.length(FILES - failed);
    await pool.close();
    await fx.expectNoLeaks();
  });
});
