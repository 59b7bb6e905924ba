/**
 * `ftpstream worker --remote-root` (the processor's remoteRoots) confines
 * the remote directory a job names, and a job is written by whoever can
 * write to the queue. A job root beginning with `\` was read as relative,
 * below `.` or `pub`: a server that takes `\` for a separator (IIS,
 * FileZilla Server) reads `\etc` as its `/etc`, and `\` as its root. Such
 * a job is refused now before any connection, as `/etc` is; a root of `/`
 * still takes it in. So is a job root of blanks alone (` `): below `.`,
 * but the file's path joined to it, ` /etc/passwd`, is /etc/passwd to a
 * server trimming its argument.
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

describe("worker --remote-root: a job root beginning with a backslash, or of blanks alone", () => {
  const fx = useFixtures();
  let root: string;
  beforeEach(() => void (root = mkdtempSync(join(tmpdir(), "ftpstream-backslash-roots-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Runs `job` with `remoteRoots`: its result, or its error, and the connections it asked for. */
  const run = (srv: FixtureServer, job: TreeJobLike, remoteRoots: string[]): ReturnType<typeof attemptJob> =>
    attemptJob(job, () => fx.client(srv), { ...jobBounds(srv, root), remoteRoots });

  const withRemote = (job: TreeJobLike, remote: string): TreeJobLike => ({ ...job, data: { ...job.data, remote } });

  for (const [remoteRoots, remote] of [
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
      const job = withRemote(downloadJob(srv, root, "etc/passwd", 10), remote);
      const outcome = await run(srv, job, ["."]);
      expect(outcome.error, "a refusal").to.be.instanceOf(Error);
      expect((outcome.error as FtpError).code).to.equal("ERR_FTP_BAD_JOB");
      expect(outcome.connects).to.equal(0);
    });
  }

  it("runs a job at pub under remoteRoots ['.'], as before", async () => {
    const srv = await fx.server({ files: { "/pub/a.txt": "alpha" } });
    const outcome = await run(srv, withRemote(downloadJob(srv, root, "a.txt", 5), "pub"), ["."]);
    expect(outcome.result).to.deep.include({ outcome: "transferred" });
    expect(readFileSync(join(root, "a.txt"), "utf8")).to.equal("alpha");
  });
});
