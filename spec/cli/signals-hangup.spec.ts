/**
 * `ftpstream get` and `mirror` stopped by SIGHUP: the terminal or ssh
 * session they ran in closed under them. Left to Node's default, the
 * process died at once, leaving every running file's hidden part file
 * behind, as SIGINT and SIGTERM did before cli-signals.ts. Now SIGHUP ends
 * the run as they do: parts removed, the old copies and the extras kept,
 * exit 129 (128 + 1). Sent by `kill -HUP`, and by a real hangup: the CLI
 * as the session leader of a pseudo-terminal whose other end is closed.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { localTree } from "./mirror-hostile-helpers.js";
import { holdRetr } from "./mirror-local-faults-helpers.js";
import { CLI_PATH, useCliFixture } from "./run-cli.js";

const BIG = "B".repeat(100_000);

/**
 * Runs argv[1:] as the session leader of a new pseudo-terminal (stdin,
 * stdout and stderr), reading what it shows; on a line on stdin closes the
 * terminal's other end (the kernel sends the leader SIGHUP), then prints
 * how the child ended: `{"code": n}` or `{"signal": n}`.
 */
const HANGUP_PTY = `
import json, os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
while True:
    ready, _, _ = select.select([sys.stdin, fd], [], [])
    if fd in ready:
        try:
            os.read(fd, 65536)
        except OSError:
            pass
    if sys.stdin in ready:
        sys.stdin.readline()
        break
os.close(fd)
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.WEXITSTATUS(status)} if os.WIFEXITED(status) else {"signal": os.WTERMSIG(status)}), flush=True)
`;

describe("ftpstream get and mirror stopped by SIGHUP", function () {
  const { dir, start, url, cli } = useCliFixture("ftpstream-hangup-");

  it("get: SIGHUP mid-file exits 129 naming it, removes its part file and keeps the old copy", async () => {
    const srv = await start({ files: { "/t/big.bin": BIG } });
    const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
    writeFileSync(join(dir(), "big.bin"), "the old copy");
    const run = cli(["get", url(srv, "t/big.bin")]);
    await held.nth(0);
    run.child.kill("SIGHUP");
    const code = await run.exit;
    expect(run.child.signalCode, "died of the signal, nothing cleaned up").to.equal(null);
    expect(code, run.lines.join("\n")).to.equal(129);
    expect(run.lines).to.include('ftpstream: stopped by SIGHUP: "big.bin" left as it was, its part file removed');
    expect(localTree(dir())).to.deep.equal({ "big.bin": "the old copy" });
  });

  it("mirror --delete --parallel 4: SIGHUP mid-file exits 129, removes every part file, keeps the old copy and deletes nothing", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`/t/big${i}.bin`] = BIG;
    const srv = await start({ files });
    const held = holdRetr(srv, (arg) => arg.includes("/big"));
    const tree = join(dir(), "tree");
    mkdirSync(tree);
    writeFileSync(join(tree, "big0.bin"), "the old copy");
    writeFileSync(join(tree, "extra.txt"), "a true extra, but the run was stopped");
    const run = cli(["mirror", url(srv, "t"), tree, "--delete", "--parallel", "4"]);
    for (let i = 0; i < 4; i++) await held.nth(i);
    run.child.kill("SIGHUP");
    const code = await run.exit;
    expect(run.child.signalCode, "died of the signal, nothing cleaned up").to.equal(null);
    expect(code, run.lines.join("\n")).to.equal(129);
    expect(run.lines).to.include("ftpstream: stopped by SIGHUP: no more files started, nothing deleted");
    expect(localTree(tree)).to.deep.equal({ "big0.bin": "the old copy", "extra.txt": "a true extra, but the run was stopped" });
  });

  for (const command of ["get", "mirror"] as const) {
    it(`${command} in a terminal that hangs up mid-file (ssh dropped) removes its part files and keeps the old copy`, async () => {
      const srv = await start({ files: { "/t/big.bin": BIG, "/t/other.bin": BIG } });
      const held = holdRetr(srv, (arg) => arg.endsWith(".bin"));
      const tree = join(dir(), "tree");
      mkdirSync(tree);
      writeFileSync(join(tree, "big.bin"), "the old copy");
      const args =
        command === "get" ? ["get", url(srv, "t/big.bin"), join(tree, "big.bin")] : ["mirror", url(srv, "t"), tree, "--parallel", "2"];
      const child = spawn("python3", ["-c", HANGUP_PTY, process.execPath, CLI_PATH, ...args], { stdio: ["pipe", "pipe", "inherit"] });
      try {
        let said = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (said += chunk));
        await held.nth(command === "get" ? 0 : 1);
        child.stdin.write("hang up\n");
        await once(child, "close");
        // Node 20 itself may then die of SIGABRT or SIGSEGV restoring the gone terminal at exit (nodejs/node#58200): after the clean-up.
        expect(JSON.parse(said), "died of the hangup, nothing cleaned up").not.to.deep.equal({ signal: 1 });
        expect(localTree(tree)).to.deep.equal({ "big.bin": "the old copy" });
      } finally {
        held.releaseAll();
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    });
  }
});
