/**
 * A pool member whose FTPS set-up fails as a downgrade would (the 234 to
 * AUTH TLS followed by no TLS, PBSZ or PROT P refused) is reported, not
 * survived in silence by the other members: nothing leaked before either,
 * but the user never learnt that one of their connections met it. A tree
 * transfer opens every member at once (warm-up) with no call waiting on
 * each: such a failure there was dropped, and the tree ended well on the
 * members that connected. Under `retry` the member's connect tried it
 * again on a new connection as a transient failure, and got through.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpError, FtpPool, type FTP, type FtpTlsOptions } from "../../lib/index.js";
import { leaks, makeHostile, NO_LEAK, type Hostility } from "../tls/hostile-paths.js";
import { settle, useTlsFixture } from "../tls/tls-fixture.js";

const FILES = { "/tree/a.txt": "a\n", "/tree/b.txt": "b\n", "/tree/sub/c.txt": "c\n" };
const HOSTILITIES: readonly Hostility[] = ["PROT refused", "PBSZ refused", "234 then no TLS"];
/** What each hostility's member fails with: the refusal, or the handshake that met no TLS. */
const FAILURE: Record<string, RegExp> = {
  "PROT refused": /534/,
  "PBSZ refused": /534/,
  "234 then no TLS": /TLS/,
};

describe("FtpPool: a member's FTPS set-up failing is reported, not survived in silence (T)", function () {
  this.timeout(20_000);
  const fx = useTlsFixture();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-pool-security-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function options(srv: FixtureServer, extra: FtpTlsOptions = {}): FtpTlsOptions {
    return { host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 3000, ...extra };
  }

  async function connected(srv: FixtureServer, extra: FtpTlsOptions = {}): Promise<FTP> {
    const ftp = fx.client(options(srv, extra));
    await ftp.ready;
    return ftp;
  }

  /**
   * The member's failures (`how`) that `error` reports: itself, when the
   * task that got it was one the tree call cannot do without (its root
   * listing), or among an FtpDirTransferError's, against the path whose
   * task got it.
   */
  function memberFailures(error: unknown, how: Hostility): Error[] {
    const errors = error instanceof FtpDirTransferError ? error.errors : error === undefined ? [] : [error as Error];
    for (const each of errors) expect(each, String(each)).to.be.instanceOf(FtpError);
    return errors.filter((each) => FAILURE[how].test(each.message));
  }

  for (const how of HOSTILITIES) {
    it(`downloadDir on a pool of two reports the second member's failure (${how}), or the next use() does`, async () => {
      const srv = await fx.start({ files: FILES });
      const watch = makeHostile(srv, how, (index) => index === 1);
      const connects: Array<Promise<unknown>> = [];
      const pool = new FtpPool({
        size: 2,
        connect: () => {
          const connecting = connected(srv);
          connects.push(connecting.catch(() => undefined));
          return connecting;
        },
      });
      try {
        const down = await settle(pool.downloadDir("/tree", join(dir, "down")));
        // The tree may end on the first member before the second one fails (the hostile AUTH TLS takes 50 ms):
        // then the next call that asks for a client gets it.
        await Promise.all(connects);
        const next = await settle(pool.use((ftp) => ftp.pwd()));
        const reported = [...memberFailures(down.error, how), ...memberFailures(next.error, how)];
        expect(reported, "the member's failure").to.not.deep.equal([]);
      } finally {
        await pool.close({ timeout: 0 });
      }
      expect(leaks(watch)).to.deep.equal(NO_LEAK);
    });
  }

  // PBSZ and PROT P refused with a 5xx are not tried again anyway (not transient).
  for (const how of ["234 then no TLS"] as const) {
    it(`a member made with \`retry\` does not try it again on a new connection as if transient (${how})`, async () => {
      const srv = await fx.start({ files: FILES });
      const watch = makeHostile(srv, how, (index) => index === 0);
      const ftp = fx.client(options(srv, { retry: { attempts: 3, minDelay: 1, maxDelay: 5 } }));
      const retries: unknown[] = [];
      ftp.on("retry", (event) => retries.push(event));
      const ready = await settle(ftp.ready);
      expect(ready.error, "ready").to.be.instanceOf(FtpError);
      expect((ready.error as Error).message).to.match(FAILURE[how]);
      expect(retries, "retries").to.deep.equal([]);
      expect(srv.sessions, "connections made").to.have.length(1);
      expect(ftp.closed).to.equal(true);
      expect(leaks(watch)).to.deep.equal(NO_LEAK);
    });
  }

  it("a failure no tree task was there to get goes to the next use(), once; the use() after it runs", async () => {
    const srv = await fx.start({ files: FILES });
    let refuse: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (refuse = resolve));
    // The second member's PROT P is refused only once the tree call has ended: no task of it is waiting then.
    let treeDone: () => void = () => undefined;
    const treeEnded = new Promise<void>((resolve) => (treeDone = resolve));
    srv.handle("PROT", async (s, arg) => {
      if (srv.sessions.indexOf(s) !== 1) return s.defaultHandler("PROT", arg);
      await treeEnded;
      s.reply(534, "Request denied for policy reasons.");
      refuse();
    });
    const pool = new FtpPool({ size: 2, connect: () => connected(srv) });
    try {
      const down = await settle(pool.downloadDir("/tree/sub", join(dir, "sub")));
      expect(down.error, "the tree call, done on the first member").to.equal(undefined);
      treeDone();
      await refused;
      // The refusal's reply is read, the client closed and the pool told within a few turns.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const first = await settle(pool.use((ftp) => ftp.pwd()));
      expect(memberFailures(first.error, "PROT refused"), "the next use()").to.have.length(1);
      const second = await settle(pool.use((ftp) => ftp.pwd()));
      expect(second.error, "the use() after it").to.equal(undefined);
    } finally {
      treeDone();
      await pool.close({ timeout: 0 });
    }
  });
});
