/**
 * Every call on an FtpPool settles. A `connect` that rejects fails the
 * use() that asked for it and every use() waiting for a client meanwhile,
 * each with the connect's own error; a tree transfer during an outage
 * rejects; a client whose connect completes after close() is closed at
 * once and never handed to a task.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { FTP, FtpConnectionError, FtpDirTransferError, FtpPool } from "../../lib/index.js";
import { excess, handleCounts, later, settledWithin, until } from "../faults/helpers.js";

/** The error `promise` rejected with, failing the spec if it resolved or never settled. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const result = await settledWithin(promise);
  if (result === "pending") expect.fail("the call never settled");
  if (result.ok) expect.fail(`the call resolved with ${JSON.stringify(result.value)}`);
  return result.error;
}

const outage = (): FtpConnectionError =>
  new FtpConnectionError("cannot connect to ftp.example:21", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));

describe("FtpPool: every call settles", () => {
  let server: FixtureServer;
  let dir: string;
  const pools: FtpPool[] = [];

  beforeEach(async () => {
    server = await FixtureServer.start({
      files: { "/tree/a.txt": "A", "/tree/b.txt": "B", "/tree/c.txt": "C", "/tree/d.txt": "D", "/tree/e.txt": "E" },
    });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-pool-settles-"));
  });

  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function pool(connect: () => Promise<FTP>, size = 1): FtpPool {
    const made = new FtpPool({ size, connect });
    pools.push(made);
    return made;
  }

  const login = (): Promise<FTP> => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" });

  it("rejects the use() that connects and every use() waiting behind it with the connect's own error", async () => {
    const error = outage();
    let connects = 0;
    const p = pool(() => {
      connects++;
      return Promise.reject(error);
    });
    const calls = [1, 2, 3].map(() => p.use((ftp) => ftp.pwd()));
    for (const call of calls) expect(await rejection(call)).to.equal(error);
    expect(connects).to.equal(1);
  });

  it("connects again for a use() after the outage", async () => {
    let connects = 0;
    const p = pool(() => (++connects === 1 ? Promise.reject(outage()) : login()));
    const failed = [p.use((ftp) => ftp.pwd()), p.use((ftp) => ftp.pwd())];
    for (const call of failed) expect(await rejection(call)).to.be.instanceOf(FtpConnectionError);
    expect(await p.use((ftp) => ftp.pwd())).to.equal("/");
    expect(connects).to.equal(2);
  });

  it("keeps a use() waiting while another connect is on its way when one connect fails", async () => {
    const error = outage();
    let connects = 0;
    let letIn: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (letIn = resolve));
    // The first connect logs in only once the gate opens; the second fails at once.
    const p = pool(() => (++connects === 1 ? gate.then(login) : Promise.reject(error)), 2);
    const first = p.use((ftp) => ftp.pwd());
    const second = p.use((ftp) => ftp.pwd());
    // Both places are taken by connects: this one waits for a client.
    const waiting = later(p.use((ftp) => ftp.pwd()));
    // The second connect's own caller gets its error; the one waiting does not, while the first connect may still succeed.
    expect(await rejection(second)).to.equal(error);
    letIn!();
    expect(await first).to.equal("/");
    expect(await settledWithin(waiting)).to.deep.equal({ ok: true, value: "/" });
    expect(connects).to.equal(2);
  });

  it("rejects a use() waiting for a dead client's replacement with the replacement's connect error", async () => {
    const error = outage();
    let connects = 0;
    const p = pool(() => (++connects === 1 ? login() : Promise.reject(error)));
    let closeFirst: (() => void) | undefined;
    const first = p.use(
      (ftp) =>
        new Promise<void>((resolve) => {
          closeFirst = () => {
            ftp.close();
            resolve();
          };
        }),
    );
    expect(await until(() => closeFirst !== undefined)).to.equal(true);
    const waiting = p.use((ftp) => ftp.pwd());
    closeFirst!();
    await first;
    expect(await rejection(waiting)).to.equal(error);
  });

  it("rejects downloadDir when the server becomes unreachable half-way, instead of waiting for ever", async () => {
    const error = outage();
    let connects = 0;
    // One client lists the tree; then its connection drops during the first
    // file, and from then on every connect fails, after a while (as a real
    // one does): the files waiting for a client meanwhile must fail too.
    const refuse = (): Promise<FTP> => new Promise((_, reject) => setTimeout(() => reject(error), 20));
    const p = pool(() => (++connects === 1 ? login() : refuse()), 2);
    server.once("RETR", (s) => s.drop());
    const failure = await rejection(p.downloadDir("/tree", join(dir, "tree")));
    expect(failure).to.be.instanceOf(FtpDirTransferError);
    const errors = (failure as FtpDirTransferError).errors;
    expect(errors.filter((e) => e === error)).to.have.length(errors.length - 1);
  });

  it("rejects downloadDir when no connection can be made at all", async () => {
    const error = outage();
    const p = pool(() => Promise.reject(error), 2);
    expect(await rejection(p.downloadDir("/tree", join(dir, "tree")))).to.equal(error);
  });

  it("closes at once a client whose connect completes after close(), never handing it to a task", async () => {
    const baseline = handleCounts();
    let open: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let loggedIn: (() => void) | undefined;
    const ready = new Promise<void>((resolve) => (loggedIn = resolve));
    let late: FTP | undefined;
    const p = pool(async () => {
      late = await login();
      loggedIn!();
      await gate;
      return late;
    });
    let ran = false;
    const call = p.use(async (ftp) => {
      ran = true;
      return ftp.pwd();
    });
    const waiter = p.use((ftp) => ftp.pwd());
    await ready;
    await p.close();
    expect(((await rejection(waiter)) as { code?: string }).code).to.equal("ERR_FTP_POOL_CLOSED");
    open!();
    expect(((await rejection(call)) as { code?: string }).code).to.equal("ERR_FTP_POOL_CLOSED");
    expect(ran).to.equal(false);
    // The use() rejected at close(); the client its connect made later is closed as it comes.
    expect(await until(() => late?.closed === true), "the late client closed").to.equal(true);
    // The server saw the connection go, and nothing of it is left to keep the process alive.
    expect(await until(() => server.openConnections() === 0 && excess(baseline, handleCounts()).length === 0)).to.equal(true);
    expect(server.commands.filter((line) => line === "PWD")).to.deep.equal([]);
  });

  it("closes a client its connect makes after close() as it is made: it never connects", async () => {
    const baseline = handleCounts();
    let open: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let made: FTP | undefined;
    const p = pool(async () => {
      await gate;
      made = new FTP();
      await made.connect(server.host, server.port);
      return made;
    });
    const call = p.use((ftp) => ftp.pwd());
    await p.close();
    open!();
    expect(((await rejection(call)) as { code?: string }).code).to.equal("ERR_FTP_POOL_CLOSED");
    expect(await until(() => made?.closed === true), "the client closed").to.equal(true);
    expect(server.sessions).to.have.length(0);
    expect(await until(() => excess(baseline, handleCounts()).length === 0)).to.equal(true);
  });
});
