/**
 * A queue worker's remoteRoots confine the remote directory a job (which
 * anyone who can write to the queue writes) may name. A relative root
 * (`.`, `pub`) was compared by its segments alone: `.` has none, so an
 * absolute job root (`/etc`) and one beginning with `~` (the home
 * directory to vsftpd, proftpd and inetutils ftpd, `~root` root's) were
 * taken as below it, and `pub` took in `~/pub`. A job root beginning
 * with `\` was read as relative too: a server that takes `\` for a
 * separator (IIS, FileZilla Server) reads `\etc` as its `/etc`, and `\`
 * as its root. So was a job root of blanks alone (` `): below `.`, but
 * the file's path joined to it, ` /etc/passwd`, is /etc/passwd to a
 * server trimming its argument. Each is refused now before any
 * connection; what is below a relative root still runs.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import type { FtpError } from "../../lib/errors.js";
import type { TreeJobLike } from "../../lib/queue-worker.js";
import { useFixtures } from "../core/helpers.js";
import { attemptJob, downloadJob, jobBounds } from "../distributed/tree-job.js";

describe("faults: review of a queue worker's relative remoteRoots", () => {
  const fx = useFixtures();
  let root: string;
  beforeEach(() => void (root = mkdtempSync(join(tmpdir(), "ftpstream-review-roots-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Runs `job` with `remoteRoots`: its result, or its error, and the connections it asked for. */
  const run = (srv: FixtureServer, job: TreeJobLike, remoteRoots: string[]): ReturnType<typeof attemptJob> =>
    attemptJob(job, () => fx.client(srv), { ...jobBounds(srv, root), remoteRoots });

  const withRemote = (job: TreeJobLike, remote: string): TreeJobLike => ({ ...job, data: { ...job.data, remote } });

  for (const [remoteRoots, remote] of [
    [["."], "/etc"],
    [["."], "~"],
    [["."], "~root/x"],
    // A server trimming its argument reads the blank away: `~root/x`.
    [["."], " ~root/x"],
    [["."], " /etc"],
    [["pub"], "~/pub"],
    [["pub"], "/pub"],
    [["~"], "./~"],
    [["."], "\\etc"],
    [["."], "\\"],
    [["."], " \\etc"],
    [["pub"], "\\pub"],
    [["/pub"], "\\etc"],
  ] as const) {
    it(`refuses a job at ${JSON.stringify(remote)} under remoteRoots ${JSON.stringify(remoteRoots)}, before any connection`, async () => {
      const srv = await fx.server({ files: { "/pub/a.txt": "alpha" } });
      const outcome = await run(srv, withRemote(downloadJob(srv, root, "a.txt", 5), remote), [...remoteRoots]);
      expect(outcome.error, "a refusal").to.be.instanceOf(Error);
      expect((outcome.error as FtpError).code).to.equal("ERR_FTP_BAD_JOB");
      expect(outcome.connects).to.equal(0);
    });
  }

  // A root of blanks alone is below `.`, but the file's path joined to it (` /etc/passwd`) is absolute to a server trimming its argument.
  for (const remote of [" ", "\t", "  "]) {
    it(`refuses a job at ${JSON.stringify(remote)} for etc/passwd under remoteRoots ["."], before any connection`, async () => {
      const srv = await fx.server({ files: { "/etc/passwd": "root:x:0:0" } });
      const outcome = await run(srv, withRemote(downloadJob(srv, root, "etc/passwd", 10), remote), ["."]);
      expect(outcome.error, "a refusal").to.be.instanceOf(Error);
      expect((outcome.error as FtpError).code).to.equal("ERR_FTP_BAD_JOB");
      expect(outcome.connects).to.equal(0);
    });
  }

  for (const [remoteRoots, remote] of [
    [["."], "pub"],
    [["pub"], "./pub"],
    [["/"], "/pub"],
  ] as const) {
    it(`runs a job at ${JSON.stringify(remote)} under remoteRoots ${JSON.stringify(remoteRoots)}`, async () => {
      const srv = await fx.server({ files: { "/pub/a.txt": "alpha" } });
      const outcome = await run(srv, withRemote(downloadJob(srv, root, "a.txt", 5), remote), [...remoteRoots]);
      expect(outcome.result).to.deep.include({ outcome: "transferred" });
      expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("alpha");
    });
  }
});
