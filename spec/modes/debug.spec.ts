/**
 * Issue 3: debug output at ftplib's levels through a user logger, PASS
 * masked, line for line what Python's ftplib prints for the same
 * conversation; and Node's NODE_DEBUG=ftpstream.
 */
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import { FTP } from "../../lib/index.js";
import { FixtureServer } from "../../fixtures/server.js";
import { Harness } from "./helpers.js";

const run = promisify(execFile);
const LIBRARY = fileURLToPath(new URL("../../lib/index.js", import.meta.url));

const FILES = { "/pub/a.txt": "hello\n", "/pub/b.txt": "world\n" };
const USERS = { alice: "s3cr3t-pw" };
const WELCOME = "220-Welcome to the fixture\r\n220 It's ready";

/** The conversation, in Python: ftplib prints its debug lines on stdout. */
const PYTHON_CONVERSATION = `
import ftplib, sys
ftp = ftplib.FTP()
ftp.set_debuglevel(int(sys.argv[3]))
ftp.connect(sys.argv[1], int(sys.argv[2]))
ftp.getwelcome()
ftp.login("alice", "s3cr3t-pw")
ftp.pwd()
ftp.cwd("/pub")
ftp.voidcmd("NOOP")
ftp.nlst()
ftp.retrbinary("RETR a.txt", lambda block: None)
try:
    ftp.cwd("/missing")
except ftplib.error_perm:
    pass
ftp.quit()
`;

/** The same conversation through ftpstream (PASV like ftplib on IPv4: useEpsv false). */
async function nodeConversation(srv: FixtureServer, level: number): Promise<string[]> {
  const lines: string[] = [];
  const ftp = new FTP({ debugLevel: level, logger: (line) => lines.push(line), useEpsv: false });
  try {
    await ftp.connect(srv.host, srv.port);
    ftp.getWelcome();
    await ftp.login("alice", "s3cr3t-pw");
    await ftp.pwd();
    await ftp.cwd("/pub");
    await ftp.voidcmd("NOOP");
    await ftp.nlst();
    await ftp.retrbinary("RETR a.txt", () => undefined);
    await ftp.cwd("/missing").catch(() => undefined);
    await ftp.quit();
  } finally {
    ftp.close();
  }
  return lines;
}

async function pythonConversation(srv: FixtureServer, level: number): Promise<string[]> {
  const { stdout } = await run("python3", ["-c", PYTHON_CONVERSATION, srv.host, String(srv.port), String(level)]);
  return stdout.split("\n").filter((line) => line !== "");
}

/** PASV ports differ from run to run. */
function normalise(lines: string[]): string[] {
  return lines.map((line) => line.replace(/\(\d+,\d+,\d+,\d+,\d+,\d+\)/, "(h1,h2,h3,h4,p1,p2)"));
}

describe("debug output", () => {
  const harness = new Harness();
  let srv: FixtureServer;

  beforeEach(async () => {
    srv = await harness.server({ files: FILES, users: USERS, welcome: WELCOME });
    // A reply with an apostrophe: Python's repr() switches to double quotes.
    srv.handle("NOOP", (s) => s.reply(200, "It's a no-op."));
  });
  afterEach(() => harness.close());

  it("level 0 logs nothing", async () => {
    expect(await nodeConversation(srv, 0)).to.deep.equal([]);
  });

  for (const level of [1, 2]) {
    it(`level ${level} prints exactly what Python's ftplib prints for the same conversation`, async () => {
      const ours = normalise(await nodeConversation(srv, level));
      const ftplibs = normalise(await pythonConversation(srv, level));
      expect(ftplibs.length, "ftplib printed its debug lines").to.be.greaterThan(10);
      expect(ours).to.deep.equal(ftplibs);
    });
  }

  it("level 1: a *cmd* line per request and a *resp* line per reply, PASS masked", async () => {
    const lines = await nodeConversation(srv, 1);
    expect(lines.slice(0, 6)).to.deep.equal([
      `*resp* "220-Welcome to the fixture\\n220 It's ready"`,
      `*welcome* "220-Welcome to the fixture\\n220 It's ready"`,
      "*cmd* 'USER alice'",
      "*resp* '331 Please specify the password.'",
      "*cmd* 'PASS *********'",
      "*resp* '230 Login successful.'",
    ]);
    expect(lines).to.include(`*resp* "200 It's a no-op."`);
    expect(lines.every((line) => /^\*(cmd|resp|welcome)\* /.test(line))).to.equal(true);
    expect(lines.join("\n")).to.not.contain("s3cr3t");
  });

  it("level 2: also every raw line sent (*put*) and received (*get*), PASS masked in both forms", async () => {
    const lines = await nodeConversation(srv, 2);
    const at = lines.indexOf("*cmd* 'PASS *********'");
    expect(lines.slice(at, at + 4)).to.deep.equal([
      "*cmd* 'PASS *********'",
      "*put* 'PASS *********\\r\\n'",
      "*get* '230 Login successful.\\n'",
      "*resp* '230 Login successful.'",
    ]);
    expect(lines).to.include("*get* '220-Welcome to the fixture\\n'");
    expect(lines).to.include("*get* '150 Opening BINARY mode data connection for a.txt (6 bytes).\\n'");
    expect(lines.join("\n")).to.not.contain("s3cr3t");
  });

  it("setDebugLevel and setDebugLogger change the output mid-session; debugLevel() is an alias", async () => {
    const first: string[] = [];
    const second: string[] = [];
    const ftp = harness.bare();
    ftp.setDebugLogger((line) => first.push(line));
    await ftp.connect(srv.host, srv.port);
    await ftp.login("alice", "s3cr3t-pw");
    expect(first).to.deep.equal([]);
    ftp.setDebugLevel(1);
    await ftp.pwd();
    expect(first).to.deep.equal(["*cmd* 'PWD'", `*resp* '257 "/" is the current directory'`]);
    ftp.setDebugLogger((line) => second.push(line));
    ftp.debugLevel(2);
    await ftp.cwd("/pub");
    expect(second).to.deep.equal([
      "*cmd* 'CWD /pub'",
      "*put* 'CWD /pub\\r\\n'",
      "*get* '250 Directory successfully changed.\\n'",
      "*resp* '250 Directory successfully changed.'",
    ]);
    ftp.setDebugLevel(0);
    await ftp.pwd();
    expect(first).to.have.length(2);
    expect(second).to.have.length(4);
  });

  it("masks PASS sent through sendcmd too, whatever its case", async () => {
    const lines: string[] = [];
    const ftp = harness.bare({ debugLevel: 2, logger: (line) => lines.push(line) });
    await ftp.connect(srv.host, srv.port);
    await ftp.sendcmd("USER alice");
    await ftp.sendcmd("pass s3cr3t-pw");
    expect(lines).to.include("*cmd* 'pass *********'");
    expect(lines).to.include("*put* 'pass *********\\r\\n'");
    expect(lines.join("\n")).to.not.contain("s3cr3t");
  });

  it("abort() logs ABOR as a command and its reply (ftplib prints `*put urgent*` and no reply)", async () => {
    const lines: string[] = [];
    const client = harness.bare({ debugLevel: 2, logger: (line) => lines.push(line) });
    await client.connect(srv.host, srv.port);
    await client.login("alice", "s3cr3t-pw");
    lines.length = 0;
    await client.abort();
    expect(lines).to.deep.equal([
      "*cmd* 'ABOR'",
      "*put* 'ABOR\\r\\n'",
      "*get* '225 No transfer to abort.\\n'",
      "*resp* '225 No transfer to abort.'",
    ]);
  });

  /** Runs a short session in a child node process and returns its stderr. */
  function childSession(env: NodeJS.ProcessEnv, clientOptions: string): Promise<string> {
    return childScript(
      env,
      `
      const { FTP } = await import(${JSON.stringify(LIBRARY)});
      const ftp = new FTP(${clientOptions});
      await ftp.connect(${JSON.stringify(srv.host)}, ${srv.port});
      await ftp.login("alice", "s3cr3t-pw");
      await ftp.pwd();
      await ftp.quit();
    `,
    );
  }

  /** Runs an ES module script in a child node process (a fresh count of clients) and returns its stderr. */
  async function childScript(env: NodeJS.ProcessEnv, script: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      let stdout = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => {
        if (code !== 0) reject(new Error(`child exited ${code}: ${stderr}`));
        else if (stdout !== "") reject(new Error(`unexpected stdout: ${stdout}`));
        else resolve(stderr);
      });
    });
  }

  it("NODE_DEBUG=ftpstream prints every line to stderr through util.debuglog, PASS masked", async () => {
    const stderr = await childSession({ NODE_DEBUG: "ftpstream" }, "{}");
    const lines = stderr.split("\n").filter(Boolean);
    expect(
      lines.every((line) => /^FTPSTREAM \d+: ftp#1 \*(cmd|put|get|resp)\* /.test(line)),
      stderr,
    ).to.equal(true);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#1 \*cmd\* 'USER alice'$/m);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#1 \*put\* 'PASS \*{9}\\r\\n'$/m);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#1 \*resp\* '257 "\/" is the current directory'$/m);
    expect(stderr).to.not.contain("s3cr3t");
  });

  it("without NODE_DEBUG and at level 0, the child prints nothing", async () => {
    const stderr = await childSession({ NODE_DEBUG: "" }, "{}");
    expect(stderr).to.equal("");
  });

  it("the default logger writes the lines to stderr, each after its client's tag", async () => {
    const stderr = await childSession({ NODE_DEBUG: "" }, "{ debugLevel: 1 }");
    expect(stderr.split("\n").filter(Boolean)).to.deep.equal([
      `ftp#1 *resp* "220-Welcome to the fixture\\n220 It's ready"`,
      "ftp#1 *cmd* 'USER alice'",
      "ftp#1 *resp* '331 Please specify the password.'",
      "ftp#1 *cmd* 'PASS *********'",
      "ftp#1 *resp* '230 Login successful.'",
      "ftp#1 *cmd* 'PWD'",
      `ftp#1 *resp* '257 "/" is the current directory'`,
      "ftp#1 *cmd* 'QUIT'",
      "ftp#1 *resp* '221 Goodbye.'",
    ]);
  });

  it("a logger gets ftplib's line and, apart, the tag of the client it came from, one tag per client", async () => {
    const seen: Array<[string, string]> = [];
    const logger = (line: string, client: string): number => seen.push([line, client]);
    const first = harness.bare({ debugLevel: 1, logger });
    const second = harness.bare({ debugLevel: 1, logger });
    await Promise.all([first.connect(srv.host, srv.port), second.connect(srv.host, srv.port)]);
    await Promise.all([first.login("alice", "s3cr3t-pw"), second.login("alice", "s3cr3t-pw")]);
    await Promise.all([first.cwd("/pub"), second.pwd()]);
    const tags = [...new Set(seen.map(([, client]) => client))];
    expect(tags).to.have.length(2);
    for (const tag of tags) expect(tag).to.match(/^ftp#\d+$/);
    const linesOf = (tag: string): string[] => seen.filter(([, client]) => client === tag).map(([line]) => line);
    const [one, two] = [linesOf(tags[0]), linesOf(tags[1])];
    const [firstLines, secondLines] = one.includes("*cmd* 'CWD /pub'") ? [one, two] : [two, one];
    expect(firstLines.slice(-2)).to.deep.equal(["*cmd* 'CWD /pub'", "*resp* '250 Directory successfully changed.'"]);
    expect(secondLines.slice(-2)).to.deep.equal(["*cmd* 'PWD'", `*resp* '257 "/" is the current directory'`]);
    for (const lines of [firstLines, secondLines]) expect(lines.filter((line) => line === "*cmd* 'USER alice'")).to.have.length(1);
  });

  it("NODE_DEBUG=ftpstream tags an FtpPool's clients with the pool and their index in it", async () => {
    const stderr = await childScript(
      { NODE_DEBUG: "ftpstream" },
      `
      const { FTP, FtpPool } = await import(${JSON.stringify(LIBRARY)});
      const pool = new FtpPool({
        size: 2,
        connect: () => FTP.create({ host: ${JSON.stringify(srv.host)}, port: ${srv.port}, user: "alice", password: "s3cr3t-pw" }),
      });
      // Both at once, so the pool opens two clients.
      await Promise.all([pool.use((c) => c.pwd()), pool.use((c) => c.cwd("/pub"))]);
      await pool.close();
    `,
    );
    const lines = stderr.split("\n").filter(Boolean);
    expect(
      lines.every((line) => /^FTPSTREAM \d+: ftp#[12](@pool#1\[[01]\])? \*(cmd|put|get|resp)\* /.test(line)),
      stderr,
    ).to.equal(true);
    // The login runs in the pool's connect function, before the pool has the client; later lines carry its place.
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#1 \*cmd\* 'USER alice'$/m);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#2 \*cmd\* 'USER alice'$/m);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#1@pool#1\[0\] \*cmd\* 'PWD'$/m);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#2@pool#1\[1\] \*cmd\* 'CWD \/pub'$/m);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#1@pool#1\[0\] \*cmd\* 'QUIT'$/m);
    expect(stderr).to.match(/^FTPSTREAM \d+: ftp#2@pool#1\[1\] \*cmd\* 'QUIT'$/m);
  });
});
