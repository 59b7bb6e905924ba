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
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runInPty } from "./hangup-pty.js";
import { localTree } from "./mirror-hostile-helpers.js";
import { holdRetr } from "./mirror-local-faults-helpers.js";
import { useCliFixture } from "./run-cli.js";

const BIG = "B".repeat(100_000);

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
      const pty = runInPty(args);
      try {
        await held.nth(command === "get" ? 0 : 1);
        const ended = await pty.hangUp();
        // Node 20 itself may then die of SIGABRT or SIGSEGV restoring the gone terminal at exit (nodejs/node#58200): after the clean-up.
        expect(ended, "died of the hangup, nothing cleaned up").not.to.deep.equal({ signal: 1 });
        expect(localTree(tree)).to.deep.equal({ "big.bin": "the old copy" });
      } finally {
        held.releaseAll();
        pty.kill();
      }
    });
  }
});
