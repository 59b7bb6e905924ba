/**
 * FTPS never sends a login or file data in the clear, on any path that
 * opens a connection: a client logging in by itself (explicit and
 * implicit), pipelined transfers, a reconnect under `retry`, REIN, the
 * members of an FtpPool (those opened later, and after one failed),
 * downloadSegmented's extra connections, tree transfers written ahead of
 * their turn, and the CLI. Each runs against a server that refuses PROT P
 * or PBSZ, answers AUTH TLS with 234 and speaks no TLS, or serves data
 * connections in the clear, on every connection or only on those after
 * the first. What the server got in the clear is checked byte-wise: no
 * USER, PASS, ACCT, no transfer without TLS, no byte of the upload; the
 * client takes nothing from a clear data connection, and every call that
 * fails does so with an FtpError.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { patternFile, type FixtureServer } from "../../fixtures/server.js";
import { FtpError, FtpPool, type FTP, type FtpTlsOptions } from "../../lib/index.js";
import { CLEAR_PAYLOAD, leaks, makeHostile, NO_LEAK, UPLOAD_SECRET, type Hostility } from "./hostile-paths.js";
import { settle, useTlsFixture } from "./tls-fixture.js";

const CLI = fileURLToPath(new URL("../../lib/cli.js", import.meta.url));
const FAST = { attempts: 2, minDelay: 1, maxDelay: 5 };
const FILES = {
  "/f.txt": "the file\n",
  "/big.bin": patternFile(96 * 1024),
  "/tree/a.txt": "a\n",
  "/tree/b.txt": "b\n",
  "/tree/sub/c.txt": "c\n",
};

/** What a path did: the errors of its calls, and every byte it took as downloaded. */
interface Outcome {
  errors: unknown[];
  received: Buffer;
}

/** Which connections are hostile: all, those after the first, or those after a REIN. */
type Which = "every connection" | "connections after the first" | "after REIN";

const PICK: Record<Which, (index: number, reinitialized: boolean) => boolean> = {
  "every connection": () => true,
  "connections after the first": (index) => index >= 1,
  "after REIN": (_index, reinitialized) => reinitialized,
};

const HOSTILITIES: readonly Hostility[] = ["PROT refused", "PBSZ refused", "234 then no TLS", "clear data"];

describe("FTPS: no login and no file data in the clear, on every path that connects", function () {
  this.timeout(30_000);
  const fx = useTlsFixture();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftpstream-cleartext-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Options of a client of `srv` that logs in by itself. */
  function login(srv: FixtureServer, extra: FtpTlsOptions = {}): FtpTlsOptions {
    return { host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 3000, ...extra };
  }

  /** A connected, logged-in client, as an FtpPool's connect makes them. */
  async function connected(srv: FixtureServer, extra: FtpTlsOptions = {}): Promise<FTP> {
    const ftp = fx.client(login(srv, extra));
    await ftp.ready;
    return ftp;
  }

  /** Downloads f.txt and uploads the secret on `ftp`; collects into `outcome`. */
  async function transfers(ftp: FTP, outcome: Outcome): Promise<void> {
    const chunks: Buffer[] = [];
    const download = await settle(ftp.retrbinary("RETR /f.txt", (chunk) => void chunks.push(chunk)));
    if (download.error) outcome.errors.push(download.error);
    outcome.received = Buffer.concat([outcome.received, ...chunks]);
    const upload = await settle(ftp.storbinary("STOR /up.txt", Buffer.from(UPLOAD_SECRET)));
    if (upload.error) outcome.errors.push(upload.error);
  }

  /** Every local file under `root`, read and joined: what a tree or segmented download wrote. */
  function localBytes(root: string): Buffer {
    if (!existsSync(root)) return Buffer.alloc(0);
    const out: Buffer[] = [];
    const walk = (path: string): void => {
      try {
        out.push(readFileSync(path));
      } catch {
        for (const name of readdirSync(path)) walk(join(path, name));
      }
    };
    walk(root);
    return Buffer.concat(out);
  }

  interface Path {
    name: string;
    /** Hostilities this path meets (implicit FTPS has no AUTH TLS). */
    hostilities?: readonly Hostility[];
    which: readonly Which[];
    implicit?: boolean;
    /** The first connection drops at its first transfer (a `retry` reconnect follows). */
    dropFirstTransfer?: boolean;
    welcome?: string;
    /** At least one call must fail (every connection is hostile to it, or the one it needs is). */
    mustFail?: (which: Which) => boolean;
    run: (srv: FixtureServer, outcome: Outcome) => Promise<void>;
  }

  const always = (): boolean => true;

  const paths: Path[] = [
    {
      name: "a client that logs in by itself (AUTH TLS)",
      which: ["every connection"],
      mustFail: always,
      run: async (srv, outcome) => {
        const ftp = fx.client(login(srv));
        const ready = await settle(ftp.ready);
        if (ready.error) outcome.errors.push(ready.error);
        await transfers(ftp, outcome);
      },
    },
    {
      name: "a client under `retry` that logs in by itself",
      which: ["every connection"],
      mustFail: always,
      run: async (srv, outcome) => {
        const ftp = fx.client(login(srv, { retry: FAST }));
        const ready = await settle(ftp.ready);
        if (ready.error) outcome.errors.push(ready.error);
        await transfers(ftp, outcome);
      },
    },
    {
      name: "a client of implicit FTPS",
      hostilities: ["PROT refused", "PBSZ refused", "clear data"],
      which: ["every connection"],
      implicit: true,
      mustFail: always,
      run: async (srv, outcome) => {
        const ftp = fx.client(login(srv, { implicit: true }));
        const ready = await settle(ftp.ready);
        if (ready.error) outcome.errors.push(ready.error);
        await transfers(ftp, outcome);
      },
    },
    {
      name: "a pipelining client, transfers asked for before ready",
      which: ["every connection"],
      mustFail: always,
      run: async (srv, outcome) => {
        const ftp = fx.client(login(srv, { pipelining: true }));
        const ready = settle(ftp.ready);
        const chunks: Buffer[] = [];
        const calls = await Promise.all([
          settle(ftp.retrbinary("RETR /f.txt", (chunk) => void chunks.push(chunk))),
          settle(ftp.storbinary("STOR /up.txt", Buffer.from(UPLOAD_SECRET))),
          settle(ftp.retrbinary("RETR /f.txt", (chunk) => void chunks.push(chunk))),
          ready,
        ]);
        for (const call of calls) if (call.error) outcome.errors.push(call.error);
        outcome.received = Buffer.concat(chunks);
      },
    },
    {
      name: "a reconnect under `retry`",
      which: ["connections after the first"],
      dropFirstTransfer: true,
      mustFail: always,
      run: async (srv, outcome) => {
        const ftp = await connected(srv, { retry: FAST });
        await transfers(ftp, outcome);
      },
    },
    {
      name: "REIN by hand, then a login and transfers",
      hostilities: ["PROT refused", "PBSZ refused", "clear data"],
      which: ["after REIN"],
      mustFail: always,
      run: async (srv, outcome) => {
        const ftp = await connected(srv);
        const rein = await settle(ftp.sendcmd("REIN"));
        if (rein.error) outcome.errors.push(rein.error);
        const again = await settle(ftp.login("user", "pass"));
        if (again.error) outcome.errors.push(again.error);
        await transfers(ftp, outcome);
      },
    },
    {
      name: "an FtpPool of two, both members busy",
      which: ["every connection", "connections after the first"],
      mustFail: always,
      run: async (srv, outcome) => {
        const pool = new FtpPool({ size: 2, connect: () => connected(srv) });
        try {
          const calls = await Promise.all(
            [0, 1].map((i) =>
              settle(
                pool.use(async (ftp) => {
                  // Both members are asked for before either is free.
                  await new Promise((resolve) => setTimeout(resolve, 100 * i));
                  await transfers(ftp, outcome);
                }),
              ),
            ),
          );
          for (const call of calls) if (call.error) outcome.errors.push(call.error);
        } finally {
          await pool.close({ timeout: 0 });
        }
      },
    },
    {
      name: "an FtpPool member opened after the first one died",
      which: ["connections after the first"],
      mustFail: always,
      run: async (srv, outcome) => {
        const pool = new FtpPool({ size: 1, connect: () => connected(srv) });
        try {
          await pool.use(async (ftp) => void (await ftp.pwd()));
          srv.sessions[0].drop();
          await new Promise((resolve) => setTimeout(resolve, 100));
          const call = await settle(pool.use((ftp) => transfers(ftp, outcome)));
          if (call.error) outcome.errors.push(call.error);
        } finally {
          await pool.close({ timeout: 0 });
        }
      },
    },
    {
      name: "FtpPool.downloadSegmented's connections",
      which: ["every connection", "connections after the first"],
      mustFail: always,
      run: async (srv, outcome) => {
        const pool = new FtpPool({ size: 3, connect: () => connected(srv) });
        const local = join(dir, "big.bin");
        try {
          const call = await settle(pool.downloadSegmented("/big.bin", local, { segments: 3, minSegmentSize: 16 * 1024 }));
          if (call.error) outcome.errors.push(call.error);
        } finally {
          await pool.close({ timeout: 0 });
        }
        outcome.received = localBytes(dir);
      },
    },
    {
      name: "tree transfers written ahead of their turn (a vsftpd welcome)",
      which: ["every connection", "connections after the first"],
      welcome: "220 (vsFTPd 3.0.5)",
      // A member that fails to connect in a way that may pass (a connection error) leaves its files to the other.
      mustFail: (which) => which === "every connection",
      run: async (srv, outcome) => {
        const pool = new FtpPool({ size: 2, connect: () => connected(srv) });
        const local = join(dir, "down");
        const source = join(dir, "up");
        mkdirSync(join(source, "s"), { recursive: true });
        for (const name of ["x.txt", "y.txt", "s/z.txt"]) writeFileSync(join(source, name), UPLOAD_SECRET);
        try {
          const down = await settle(pool.downloadDir("/tree", local));
          if (down.error) outcome.errors.push(down.error);
          const up = await settle(pool.uploadDir(source, "/uptree"));
          if (up.error) outcome.errors.push(up.error);
        } finally {
          await pool.close({ timeout: 0 });
        }
        outcome.received = localBytes(local);
      },
    },
  ];

  for (const path of paths) {
    for (const how of path.hostilities ?? HOSTILITIES) {
      for (const which of path.which) {
        it(`${path.name}: ${how} on ${which}`, async () => {
          const srv = await fx.start({ files: FILES, tls: { implicit: path.implicit ?? false }, welcome: path.welcome });
          const watch = makeHostile(srv, how, PICK[which], { dropFirstTransfer: path.dropFirstTransfer });
          const outcome: Outcome = { errors: [], received: Buffer.alloc(0) };
          await path.run(srv, outcome);
          expect(leaks(watch)).to.deep.equal(NO_LEAK);
          // The path got as far as a file transfer on a data connection in the clear.
          if (how === "clear data") expect(watch.bytes, "no data connection served in the clear").to.not.deep.equal([]);
          expect(outcome.received.includes(CLEAR_PAYLOAD), "took data served in the clear").to.equal(false);
          for (const error of outcome.errors) expect(error, String(error)).to.be.instanceOf(FtpError);
          if (path.mustFail?.(which)) expect(outcome.errors, "no call failed").to.not.deep.equal([]);
        });
      }
    }
  }

  /** Runs the built CLI to its end; resolves to its exit code and stderr. */
  function cli(args: string[]): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args, "--quiet", "--timeout", "3000"], { cwd: dir }, (error, _stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
      });
    });
  }

  const cliRuns: Array<{
    name: string;
    implicit?: boolean;
    which: Which;
    drop?: boolean;
    /** The run may end well on the connections that are not hostile (see the tree transfers above). */
    mayRecover?: boolean;
    args: (url: string, ca: string) => string[];
  }> = [
    { name: "get over ftpes://", which: "every connection", args: (url, ca) => ["get", `${url}/f.txt`, "got.txt", "--ca", ca] },
    { name: "put over ftpes://", which: "every connection", args: (url, ca) => ["put", "secret.txt", `${url}/up.txt`, "--ca", ca] },
    {
      name: "get over ftps://",
      implicit: true,
      which: "every connection",
      args: (url, ca) => ["get", `${url}/f.txt`, "got.txt", "--ca", ca],
    },
    {
      name: "get over ftpes:// with --retry, the first connection dropped",
      which: "connections after the first",
      drop: true,
      args: (url, ca) => ["get", `${url}/f.txt`, "got.txt", "--ca", ca, "--retry", "2"],
    },
    {
      name: "mirror --parallel 2 (upload) over ftpes://",
      which: "connections after the first",
      mayRecover: true,
      args: (url, ca) => ["mirror", "tree", `${url}/uptree`, "--ca", ca, "--parallel", "2"],
    },
  ];

  for (const run of cliRuns) {
    for (const how of HOSTILITIES) {
      if (run.implicit && how === "234 then no TLS") continue;
      it(`the CLI's ${run.name}: ${how} on ${run.which}`, async () => {
        const srv = await fx.start({ files: FILES, tls: { implicit: run.implicit ?? false } });
        const watch = makeHostile(srv, how, PICK[run.which], { dropFirstTransfer: run.drop });
        const ca = join(dir, "ca.pem");
        writeFileSync(ca, fx.cert().cert);
        writeFileSync(join(dir, "secret.txt"), UPLOAD_SECRET);
        mkdirSync(join(dir, "tree", "s"), { recursive: true });
        for (const name of ["x.txt", "y.txt", "s/z.txt", "s/w.txt"]) writeFileSync(join(dir, "tree", name), UPLOAD_SECRET);
        const scheme = run.implicit ? "ftps" : "ftpes";
        const { code, stderr } = await cli(run.args(`${scheme}://user:pass@${srv.host}:${srv.port}`, ca));
        expect(leaks(watch)).to.deep.equal(NO_LEAK);
        if (how === "clear data") expect(watch.bytes, "no data connection served in the clear").to.not.deep.equal([]);
        const got = join(dir, "got.txt");
        expect(existsSync(got) && readFileSync(got).includes(CLEAR_PAYLOAD), "took data served in the clear").to.equal(false);
        if (!run.mayRecover) expect(code, stderr).to.not.equal(0);
      });
    }
  }
});
