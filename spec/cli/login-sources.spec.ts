/**
 * The ftpstream command with its password off the command line: --netrc
 * (~/.netrc or $NETRC), --netrc-file and --env-password (FTPSTREAM_PASSWORD),
 * run as a child process against the fixture server. What reached the
 * server is read from the fixture's own command log; the child's
 * environment is built here, so nothing of the shell running the specs
 * (a real NETRC or FTPSTREAM_PASSWORD) leaks in.
 */
import { expect } from "chai";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FixtureServer } from "../../fixtures/server.js";
import { runCli, useCliFixture } from "./run-cli.js";

const SECRET = "n3trc-s3cret";

describe("ftpstream with the password from netrc or the environment", () => {
  const { dir, start } = useCliFixture("ftpstream-login-");
  let server: FixtureServer;
  /** A HOME of its own for each spec, with no .netrc unless the spec writes one. */
  let home: string;
  beforeEach(async () => {
    server = await start({ users: { alice: SECRET, bob: "bobs-pw" }, files: { "/pub/a.txt": "hello\n" } });
    home = join(dir(), "home");
    mkdirSync(home);
  });

  const netrcAt = (file: string, text: string, mode = 0o600): string => {
    writeFileSync(file, text);
    chmodSync(file, mode);
    return file;
  };
  const homeNetrc = (text: string, mode = 0o600): string => netrcAt(join(home, ".netrc"), text, mode);
  const at = (path: string, user?: string): string => `ftp://${user ? `${user}@` : ""}${server.host}:${server.port}${path}`;
  const logins = (): string[] => server.commands.filter((c) => c.startsWith("USER ") || c.startsWith("PASS "));

  it("--netrc-file gives the password for the URL's user: it is sent to the server and on no command line", async () => {
    const file = netrcAt(join(dir(), "creds"), `machine ${server.host} login alice password ${SECRET}\n`, 0o644);
    const run = await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc-file", file], { env: { HOME: home }, stdout: "text" });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal("hello\n");
    expect(logins()).to.deep.equal(["USER alice", `PASS ${SECRET}`]);
  });

  it("--netrc reads ~/.netrc, and gives the user too when the URL names none", async () => {
    homeNetrc(`# mine\nmachine ${server.host.toUpperCase()}\n  login alice\n  password "${SECRET}"\n`);
    const run = await runCli(["cat", at("/pub/a.txt"), "--netrc"], { env: { HOME: home } });
    expect(run.code, run.stderr).to.equal(0);
    expect(logins()).to.deep.equal(["USER alice", `PASS ${SECRET}`]);
  });

  it("--netrc reads $NETRC when it is set, as curl does", async () => {
    homeNetrc(`machine ${server.host} login alice password wrong\n`);
    const file = netrcAt(join(dir(), "other-netrc"), `machine ${server.host} login alice password ${SECRET}\n`);
    const run = await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc"], { env: { HOME: home, NETRC: file } });
    expect(run.code, run.stderr).to.equal(0);
    expect(logins()).to.deep.equal(["USER alice", `PASS ${SECRET}`]);
  });

  it("--netrc refuses a ~/.netrc with a password that others can read: exit 1, chmod 600 said, nothing connected", async () => {
    const file = homeNetrc(`machine ${server.host} login alice password ${SECRET}\n`, 0o644);
    const run = await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc"], { env: { HOME: home } });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`chmod 600 ${file}`).and.not.include(SECRET);
    expect(server.sessions).to.have.length(0);
  });

  it("worker --netrc with a ~/.netrc it may not use stops at once, before reaching for the queue", async () => {
    const file = homeNetrc(`machine ${server.host} login alice password ${SECRET}\n`, 0o640);
    // Nothing listens on port 1: a worker that went on to the queue would wait for Redis, not exit.
    const run = await runCli(
      ["worker", "redis://127.0.0.1:1/q", "--netrc", "--server", `ftp://${server.host}:${server.port}`, "--local-root", dir()],
      {
        env: { HOME: home },
      },
    );
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`mode 0640`).and.include(`chmod 600 ${file}`).and.not.include(SECRET);
  });

  it("a malformed netrc file stops the command with the file and line, without echoing its words", async () => {
    const file = netrcAt(join(dir(), "creds"), `machine ${server.host}\nlogin alice password n3trc s3cret\n`);
    const run = await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc-file", file], { env: { HOME: home } });
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`${file}, line 2:`).and.not.include("s3cret");
    expect(server.sessions).to.have.length(0);
  });

  it("a password in the URL wins over netrc and FTPSTREAM_PASSWORD", async () => {
    const file = netrcAt(join(dir(), "creds"), `machine ${server.host} login bob password from-netrc\n`);
    const run = await runCli(["cat", at("/pub/a.txt", "bob:bobs-pw"), "--netrc-file", file, "--env-password"], {
      env: { HOME: home, FTPSTREAM_PASSWORD: "from-env" },
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(logins()).to.deep.equal(["USER bob", "PASS bobs-pw"]);
  });

  it("a netrc entry for the host wins over FTPSTREAM_PASSWORD; the environment serves a user netrc has no password for", async () => {
    const file = netrcAt(join(dir(), "creds"), `machine ${server.host} login alice password ${SECRET}\n`);
    const env = { HOME: home, FTPSTREAM_PASSWORD: "bobs-pw" };
    expect((await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc-file", file, "--env-password"], { env })).code).to.equal(0);
    expect((await runCli(["cat", at("/pub/a.txt", "bob"), "--netrc-file", file, "--env-password"], { env })).code).to.equal(0);
    expect(logins()).to.deep.equal(["USER alice", `PASS ${SECRET}`, "USER bob", "PASS bobs-pw"]);
  });

  it("FTPSTREAM_PASSWORD is read only with --env-password: without it, a user without a password is refused before connecting", async () => {
    const env = { HOME: home, FTPSTREAM_PASSWORD: SECRET };
    const refused = await runCli(["cat", at("/pub/a.txt", "alice")], { env });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/no password for user "alice" on 127\.0\.0\.1:\d+: .*--env-password was not given/);
    expect(server.sessions, "no connection for a login without a password").to.have.length(0);
    const run = await runCli(["cat", at("/pub/a.txt", "alice"), "--env-password"], { env });
    expect(run.code, run.stderr).to.equal(0);
    expect(logins()).to.deep.equal(["USER alice", `PASS ${SECRET}`]);
  });

  it("--env-password with FTPSTREAM_PASSWORD unset, and --netrc with --netrc-file, are usage errors (status 2)", async () => {
    const noVariable = await runCli(["cat", at("/pub/a.txt", "alice"), "--env-password"], { env: { HOME: home } });
    expect(noVariable.code).to.equal(2);
    expect(noVariable.stderr).to.include("FTPSTREAM_PASSWORD is not set");
    const both = await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc", "--netrc-file", "x"], { env: { HOME: home } });
    expect(both.code).to.equal(2);
    expect(server.sessions).to.have.length(0);
  });

  it("FTPSTREAM_PASSWORD with a trailing newline is a usage error that does not show it", async () => {
    const run = await runCli(["cat", at("/pub/a.txt", "alice"), "--env-password"], {
      env: { HOME: home, FTPSTREAM_PASSWORD: `${SECRET}\n` },
    });
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include("FTPSTREAM_PASSWORD holds a CR, LF or NUL").and.not.include(SECRET);
    expect(server.sessions).to.have.length(0);
  });

  it("a netrc entry's account is sent with ACCT when the server asks for one (332)", async () => {
    await server.close();
    server = await start({ users: { alice: SECRET }, requireAcct: true, files: { "/pub/a.txt": "hello\n" } });
    const file = netrcAt(join(dir(), "creds"), `machine ${server.host} login alice password ${SECRET} account dept-7\n`);
    const run = await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc-file", file], { env: { HOME: home } });
    expect(run.code, run.stderr).to.equal(0);
    expect(server.commands.slice(0, 3)).to.deep.equal(["USER alice", `PASS ${SECRET}`, "ACCT dept-7"]);
  });

  it("an anonymous URL stays anonymous with --env-password", async () => {
    const run = await runCli(["cat", at("/pub/a.txt"), "--env-password"], { env: { HOME: home, FTPSTREAM_PASSWORD: SECRET } });
    expect(run.code, run.stderr).to.equal(0);
    expect(logins()).to.deep.equal(["USER anonymous", "PASS anonymous@"]);
  });

  it("--debug and a refused login print no password from netrc or the environment", async () => {
    const file = netrcAt(join(dir(), "creds"), `machine ${server.host} login alice password ${SECRET}\n`);
    const debug = await runCli(["cat", at("/pub/a.txt", "alice"), "--netrc-file", file, "--debug"], {
      env: { HOME: home },
      stdout: "text",
    });
    expect(debug.code, debug.stderr).to.equal(0);
    expect(debug.stderr).to.match(/PASS \*+/);
    server.handle("PASS", (s) => s.reply(530, "Login incorrect."));
    const refused = await runCli(["ls", at("/pub", "alice"), "--debug", "--env-password"], {
      env: { HOME: home, FTPSTREAM_PASSWORD: SECRET },
      stdout: "text",
    });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/530/);
    for (const run of [debug, refused]) expect(run.stdout + run.stderr).not.to.include(SECRET);
  });

  it("mirror over --parallel connections logs each one in from netrc", async () => {
    server.vfs.set("/t/a.txt", "alpha\n");
    server.vfs.set("/t/b.txt", "beta\n");
    const file = netrcAt(join(dir(), "creds"), `machine ${server.host} login alice password ${SECRET}\n`);
    const local = join(dir(), "mirror");
    const run = await runCli(["mirror", at("/t", "alice"), local, "--parallel", "2", "--netrc-file", file], { env: { HOME: home } });
    expect(run.code, run.stderr).to.equal(0);
    expect(readFileSync(join(local, "b.txt"), "utf8")).to.equal("beta\n");
    const passes = logins().filter((line) => line.startsWith("PASS "));
    expect(passes.length).to.be.at.least(1);
    expect(new Set(passes)).to.deep.equal(new Set([`PASS ${SECRET}`]));
  });
});
