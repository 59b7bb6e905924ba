/**
 * Two spellings of one server's host (`ftpes://127.1` and
 * `ftpes://127.0.0.1`: the URL standard leaves an ftpes:// host as
 * written) share the connection cap, but not a pool: a job without a
 * password logs in as `connect` finds for its URL (the CLI: netrc, by the
 * host as written), so the two may be two logins. Before, they shared a
 * pool, and the second job ran on the first's login. A trailing dot
 * (`example.com.`) is the same endpoint for the cap.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FTP, FtpUnrecoverableJobError } from "../../lib/index.js";
import type { TreeJob } from "../../lib/queue-jobs.js";
import { createTreeJobProcessor, endpointKey, type TreeJobLike } from "../../lib/queue-worker.js";
import { parseFtpUrl } from "../../lib/url.js";
import { rejectionOf, useFixtures } from "../core/helpers.js";

/** A download job of /r/`path` into `local`, on the server `server` names. */
function downloadFrom(server: string, local: string, path: string, size: number): TreeJobLike {
  const data: TreeJob = { v: 1, direction: "download", server, remote: "/r", local, path, size, modified: null };
  return { data, updateProgress: () => Promise.resolve() };
}

describe("queue worker: a host spelt two ways", () => {
  const fx = useFixtures();
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-queue-host-spellings-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("endpointKey: a trailing dot is the same host; IPv6 and IPv4 spellings of an ftpes:// host are one", () => {
    const key = (url: string): string => endpointKey(parseFtpUrl(url));
    expect(key("ftp://u@Example.COM.:21")).to.equal(key("ftp://u@example.com"));
    expect(key("ftpes://u@example.com.")).to.equal(key("ftp://u@example.com"));
    expect(key("ftpes://[0::1]")).to.equal(key("ftp://[::1]:21"));
    expect(key("ftpes://127.1")).to.equal(key("ftp://127.0.0.1"));
    expect(key("ftp://u@example.com.")).to.not.equal(key("ftp://u@example.co"));
  });

  it("runs a job on a pool of the host as written: a login found for one spelling never serves the other", async () => {
    const srv = await fx.server({ users: { alice: "right" }, anonymous: false, files: { "/r/a.txt": "alpha", "/r/b.txt": "beta" } });
    // The worker's own logins, by the host as written (as netrc's are): only 127.0.0.1 has alice's password.
    const logins = new Map([
      ["127.0.0.1", "right"],
      ["127.1", "wrong"],
    ]);
    const servers = [`ftpes://alice@127.0.0.1:${srv.port}`, `ftpes://alice@127.1:${srv.port}`];
    const processor = createTreeJobProcessor({
      servers,
      localRoots: [dir],
      // Plain FTP to the fixture: what counts here is which login a pool's connections made.
      connect: (server) => {
        const url = parseFtpUrl(server);
        return FTP.create({ host: srv.host, port: url.port, user: url.user, password: logins.get(url.host), timeout: 5000 });
      },
      poolSize: 1,
      idleMs: 60_000,
    });
    try {
      expect(await processor.process(downloadFrom(servers[0], dir, "a.txt", 5))).to.deep.equal({ outcome: "transferred", bytes: 5 });
      const error = await rejectionOf(processor.process(downloadFrom(servers[1], dir, "b.txt", 4)));
      expect(error).to.be.instanceOf(FtpUnrecoverableJobError);
      expect((error as FtpUnrecoverableJobError).replyCode).to.equal(530);
      expect(srv.commands.filter((line) => line.startsWith("RETR"))).to.deep.equal(["RETR /r/a.txt"]);
    } finally {
      await processor.close();
    }
  });
});
