/**
 * A tree transfer over an FtpPool whose clients have `retry`, against a
 * server that loses every connection at each RETR or STOR. The pool stops
 * after 2 × size connections lost in a row (hostile-pool-lost-connections),
 * but a client with `retry` is never closed by a lost connection: its own
 * retry reconnected inside the task, the task failed with its client still
 * open, and the pool counted no loss. Each file cost the retry's attempts
 * + 1 logins, through the whole tree (100 files, attempts 2: 300 logins).
 * A task during which its client lost a connection is now a loss, however
 * many the retry absorbed. A server that loses a connection now and then
 * still gets the whole tree fetched, the retry resuming what was cut.
 */
import { expect } from "chai";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FtpDirTransferError } from "../../lib/index.js";
import type { RetryOptions } from "../../lib/index.js";
import { rejection, usePoolFixture } from "../pool/pool-fixture.js";
import { CONNECTION_LOSSES, dropFirstRetrOfEveryThird, numberedTree, writeUploads } from "./lost-connections.js";

const FILES = 100;
const SIZE = 2;
/** Backoffs of a few ms: every retry is made, at once. */
const RETRY: RetryOptions = { attempts: 2, minDelay: 1, maxDelay: 4 };

const files = numberedTree(FILES);

/**
 * Far below a login per file: the bound (2 × SIZE tasks that lost their
 * connection in a row) and the tasks already holding a client when it is
 * reached, each with the retry's attempts + 1 logins, and the warm-up.
 */
const MOST_LOGINS = (2 * SIZE + SIZE) * (RETRY.attempts + 1) + SIZE;

describe("faults: a pool of `retry` clients, its tree transfer against a server that loses every connection", function () {
  const fx = usePoolFixture({ files });
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ftpstream-pool-retry-losses-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const logins = (): number => fx.server.commands.filter((line) => line.startsWith("USER ")).length;

  for (const [what, lose] of CONNECTION_LOSSES) {
    it(`downloadDir, the server ${what} at every RETR: fails every file after a few logins, not attempts + 1 per file`, async () => {
      fx.server.handle("RETR", lose);
      const pool = fx.poolOf(SIZE, { timeout: 5000, retry: RETRY });
      const error = await rejection(pool.downloadDir("/tree", join(dir, "tree")));
      expect(error).to.be.instanceOf(FtpDirTransferError);
      expect((error as FtpDirTransferError).failures, "failed files").to.have.length(FILES);
      expect(logins(), "logins").to.be.at.most(MOST_LOGINS);
      expect(await readdir(join(dir, "tree")), "files left").to.deep.equal([]);
      await pool.close();
      await fx.expectNoLeaks();
    });
  }

  it("uploadDir, the server dropping the connection at every STOR: the same", async () => {
    const local = join(dir, "up");
    await mkdir(local);
    await writeUploads(local, FILES);
    fx.server.handle("STOR", (s) => s.drop());
    const pool = fx.poolOf(SIZE, { timeout: 5000, retry: RETRY });
    const error = await rejection(pool.uploadDir(local, "/up"));
    expect(error).to.be.instanceOf(FtpDirTransferError);
    expect((error as FtpDirTransferError).failures, "failed files").to.have.length(FILES);
    expect(logins(), "logins").to.be.at.most(MOST_LOGINS);
    await pool.close();
    await fx.expectNoLeaks();
  });

  it("a server that drops the first RETR of one file in three: the retry gets every file, none fails", async () => {
    dropFirstRetrOfEveryThird(fx.server);
    const pool = fx.poolOf(SIZE, { timeout: 5000, retry: RETRY });
    const result = await pool.downloadDir("/tree", join(dir, "tree"));
    expect(result.transferred, "files fetched").to.equal(FILES);
    expect(await readdir(join(dir, "tree")), "files on disk").to.have.length(FILES);
    expect(await readFile(join(dir, "tree", "f7.txt"), "utf8")).to.equal("file 7\n");
    await pool.close();
    await fx.expectNoLeaks();
  });

  it("a file whose every RETR loses the connection, among files that come: only that file fails", async () => {
    fx.server.handle("RETR", async (s, arg) => {
      if (arg.endsWith("/f13.txt")) {
        s.drop();
        return;
      }
      await s.defaultHandler("RETR", arg);
    });
    const pool = fx.poolOf(SIZE, { timeout: 5000, retry: RETRY });
    // Not rejection()'s 2 s: the other 99 files are fetched first.
    const error = await pool.downloadDir("/tree", join(dir, "tree")).then(
      () => expect.fail("downloadDir resolved"),
      (failure: unknown) => failure,
    );
    expect(error).to.be.instanceOf(FtpDirTransferError);
    expect((error as FtpDirTransferError).failures.map((failure) => failure.path)).to.deep.equal(["f13.txt"]);
    expect(await readdir(join(dir, "tree")), "files fetched").to.have.length(FILES - 1);
    await pool.close();
    await fx.expectNoLeaks();
  });
});
