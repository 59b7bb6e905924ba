/**
 * The single-client form of hostile-pool-retry-lost-connections: a tree
 * transfer on one FTP client with `retry`, against a server that loses the
 * connection at every RETR or STOR. Without `retry` the first lost
 * connection closes the client and the files left fail at once; with it
 * the client stays open, and each file cost the retry's attempts + 1
 * logins, through the whole tree (40 files, attempts 2: 120 logins). Once
 * two tasks in a row lost their connection, with none ending well between,
 * the files left fail at once with the last loss's error. A server that
 * loses a connection now and then still gets the whole tree fetched.
 */
import { expect } from "chai";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError } from "../../lib/index.js";
import type { RetryOptions } from "../../lib/index.js";
import { useFixtures } from "../core/helpers.js";
import { outcome, settledWithin } from "./helpers.js";
import { CONNECTION_LOSSES, dropFirstRetrOfEveryThird, numberedTree, writeUploads } from "./lost-connections.js";

const FILES = 40;
/** Backoffs of a few ms: every retry is made, at once. */
const RETRY: RetryOptions = { attempts: 2, minDelay: 1, maxDelay: 4 };
/** The bound (2 tasks in a row) and the one running beside them (2 at once), each attempts + 1 logins, and the first login. */
const MOST_LOGINS = 3 * (RETRY.attempts + 1) + 1;

const files = numberedTree(FILES);

describe("faults: one `retry` client's tree transfer against a server that loses every connection", function () {
  const fx = useFixtures();
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ftpstream-retry-losses-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const logins = (srv: FixtureServer): number => srv.commands.filter((line) => line.startsWith("USER ")).length;

  /** The tree call's error, failing the spec if it resolved, or (`soon`) took more than 2 s. */
  async function failure(call: Promise<unknown>, soon = true): Promise<FtpDirTransferError> {
    const result = soon ? await settledWithin(call) : await outcome(call);
    if (result === "pending") expect.fail("the tree transfer never settled");
    if (result.ok) expect.fail("the tree transfer resolved");
    expect(result.error).to.be.instanceOf(FtpDirTransferError);
    return result.error as FtpDirTransferError;
  }

  for (const [what, lose] of CONNECTION_LOSSES) {
    it(`downloadDir, the server ${what} at every RETR: fails every file after a few logins, not attempts + 1 per file`, async () => {
      const srv = await fx.server({ files });
      srv.handle("RETR", lose);
      const ftp = await fx.client(srv, { retry: RETRY });
      const error = await failure(ftp.downloadDir("/tree", join(dir, "tree")));
      expect(error.failures, "failed files").to.have.length(FILES);
      expect(logins(srv), "logins").to.be.at.most(MOST_LOGINS);
      expect(await readdir(join(dir, "tree")), "files left").to.deep.equal([]);
    });
  }

  it("uploadDir, the server dropping the connection at every STOR: the same", async () => {
    const local = join(dir, "up");
    await mkdir(local);
    await writeUploads(local, FILES);
    const srv = await fx.server({ files });
    srv.handle("STOR", (s) => s.drop());
    const ftp = await fx.client(srv, { retry: RETRY });
    const error = await failure(ftp.uploadDir(local, "/up"));
    expect(error.failures, "failed files").to.have.length(FILES);
    expect(logins(srv), "logins").to.be.at.most(MOST_LOGINS);
  });

  it("a server that drops the first RETR of one file in three: the retry gets every file, none fails", async () => {
    const srv = await fx.server({ files });
    dropFirstRetrOfEveryThird(srv);
    const ftp = await fx.client(srv, { retry: RETRY });
    const result = await ftp.downloadDir("/tree", join(dir, "tree"));
    expect(result.transferred, "files fetched").to.equal(FILES);
    expect(await readFile(join(dir, "tree", "f9.txt"), "utf8")).to.equal("file 9\n");
  });

  it("a file whose every RETR loses the connection, among files that come: only that file fails", async () => {
    const srv = await fx.server({ files });
    srv.handle("RETR", async (s, arg) => {
      if (arg.endsWith("/f13.txt")) {
        s.drop();
        return;
      }
      await s.defaultHandler("RETR", arg);
    });
    const ftp = await fx.client(srv, { retry: RETRY });
    const error = await failure(ftp.downloadDir("/tree", join(dir, "tree")), false);
    expect(error.failures.map((f) => f.path)).to.deep.equal(["f13.txt"]);
    expect(await readdir(join(dir, "tree")), "files fetched").to.have.length(FILES - 1);
  });
});
