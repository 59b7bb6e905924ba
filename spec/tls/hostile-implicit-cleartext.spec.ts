/**
 * Implicit FTPS answered in the clear (a server that speaks no TLS, or
 * someone between stripping it): the handshake meets bytes that are no
 * TLS. Nothing goes out in the clear either way, but as after a 234 to
 * AUTH TLS followed by no TLS (pool/security-failure), that looks like a
 * downgrade: under `retry` it was tried again on new connections as a
 * transient failure (and would have got through had one of them met TLS),
 * and an FtpPool member failing so in a tree's warm-up was dropped while
 * the tree ended well on the other members, the user never told.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { FtpDirTransferError, FtpError, FtpPool, type FTP } from "../../lib/index.js";
import { settle, useTlsFixture } from "./tls-fixture.js";

const FILES = { "/tree/a.txt": "a\n", "/tree/b.txt": "b\n", "/tree/sub/c.txt": "c\n" };

/** The handshake's failure: OpenSSL's code for bytes that are no TLS. */
const NOT_TLS = /^ERR_SSL_/;

describe("FTPS: implicit FTPS answered in the clear", function () {
  this.timeout(20_000);
  const fx = useTlsFixture();
  let clear: FixtureServer | undefined;
  let dir: string;

  beforeEach(async () => {
    clear = await FixtureServer.start({ files: FILES });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-implicit-clear-"));
  });
  afterEach(async () => {
    await clear?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("under `retry`, is not tried again on a new connection as if transient: one connection, the client closed", async () => {
    const srv = clear!;
    const ftp = fx.client({
      host: srv.host,
      port: srv.port,
      implicit: true,
      user: "user",
      password: "pass",
      timeout: 3000,
      retry: { attempts: 3, minDelay: 1, maxDelay: 5 },
    });
    const retries: unknown[] = [];
    ftp.on("retry", (event) => retries.push(event));
    const ready = await settle(ftp.ready);
    expect(ready.error, "ready").to.be.instanceOf(FtpError);
    expect((ready.error as FtpError).code).to.match(NOT_TLS);
    expect(retries, "retries").to.deep.equal([]);
    expect(srv.sessions, "connections made").to.have.length(1);
    expect(ftp.closed).to.equal(true);
  });

  it("an FtpPool member that meets it in a tree's warm-up is reported by the tree call or the next use()", async () => {
    const secure = await fx.start({ files: FILES, tls: { implicit: true } });
    let made = 0;
    const connects: Array<Promise<unknown>> = [];
    // The second member's connection is the one answered in the clear.
    const pool = new FtpPool({
      size: 2,
      connect: () => {
        const srv = made++ === 1 ? clear! : secure;
        const ftp = fx.client({ host: srv.host, port: srv.port, implicit: true, user: "user", password: "pass", timeout: 3000 });
        const connecting = ftp.ready.then((): FTP => ftp);
        connects.push(connecting.catch(() => undefined));
        return connecting;
      },
    });
    try {
      const down = await settle(pool.downloadDir("/tree", join(dir, "down")));
      await Promise.all(connects);
      const next = await settle(pool.use((ftp) => ftp.pwd()));
      const errors = [down.error, next.error].flatMap((error) =>
        error instanceof FtpDirTransferError ? error.errors : error === undefined ? [] : [error as Error],
      );
      const reported = errors.filter((error) => error instanceof FtpError && NOT_TLS.test(error.code));
      expect(reported, "the member's failure").to.not.deep.equal([]);
    } finally {
      await pool.close({ timeout: 0 });
    }
  });
});
