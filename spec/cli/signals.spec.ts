/**
 * `ftpstream get`, `put` and `mirror --queue` stopped by SIGINT or SIGTERM
 * (cron's kill, a Ctrl-C) mid-run, as the real process: each exits 130 or
 * 143 naming the signal and cleans up what it started, as `mirror` does
 * (spec/cli/mirror-local-faults). Left to Node's default, `get` left its
 * hidden part file and `put` a partial remote file, with nothing said.
 * Each signal is sent once the server sees the transfer running (no sleeps).
 */
import { expect } from "chai";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { useRedis } from "../distributed/redis-server.js";
import { localTree } from "./mirror-hostile-helpers.js";
import { holdCommand, holdRetr, holdStorMidway } from "./mirror-local-faults-helpers.js";
import { refuseOverExisting } from "../faults/rename-refused.js";
import { type RunningCli, useCliFixture } from "./run-cli.js";

const BIG = "B".repeat(100_000);
/** Larger than loopback's socket buffers: the upload is still being written when the server holds it. */
const HUGE = Buffer.alloc(8 * 1024 * 1024, "U");

describe("ftpstream get, put and mirror --queue stopped by a signal", function () {
  const { dir, start, url, cli } = useCliFixture("ftpstream-signals-");
  /** Sends `signal` to `run` and waits for its exit: it must exit by itself, not die of the signal. */
  const stopWith = async (run: RunningCli, signal: "SIGINT" | "SIGTERM"): Promise<number | null> => {
    run.child.kill(signal);
    const code = await run.exit;
    expect(run.child.signalCode, "died of the signal, nothing cleaned up").to.equal(null);
    return code;
  };

  it("get: SIGTERM mid-file exits 143 naming it, removes its part file and keeps the old copy", async () => {
    const srv = await start({ files: { "/t/big.bin": BIG } });
    const held = holdRetr(srv, (arg) => arg.endsWith("big.bin"));
    writeFileSync(join(dir(), "big.bin"), "the old copy");
    const run = cli(["get", url(srv, "t/big.bin")]);
    await held.nth(0);
    expect(await stopWith(run, "SIGTERM"), run.lines.join("\n")).to.equal(143);
    expect(run.lines).to.include('ftpstream: stopped by SIGTERM: "big.bin" left as it was, its part file removed');
    expect(localTree(dir())).to.deep.equal({ "big.bin": "the old copy" });
  });

  it("put: SIGINT mid-file aborts the upload, exits 130 and says the remote file may be partial", async () => {
    const srv = await start({ files: { "/t/big.bin": "the old copy" } });
    const held = holdStorMidway(srv, (arg) => arg.endsWith("big.bin"));
    writeFileSync(join(dir(), "big.bin"), HUGE);
    const run = cli(["put", "big.bin", url(srv, "t/big.bin")]);
    await held.nth(0);
    expect(await stopWith(run, "SIGINT"), run.lines.join("\n")).to.equal(130);
    expect(run.lines).to.include(
      'ftpstream: stopped by SIGINT: "t/big.bin" on the server may hold part of the file (--part-files keeps an upload under a part name until it is whole)',
    );
    expect(srv.commands).to.include("ABOR");
  });

  it("put --part-files: SIGTERM mid-file aborts the upload, deletes its part on the server, keeps the old copy, exits 143", async () => {
    const srv = await start({ files: { "/t/big.bin": "the old copy" } });
    const held = holdStorMidway(srv, (arg) => arg.endsWith(".big.bin.ftpstream-part"));
    writeFileSync(join(dir(), "big.bin"), HUGE);
    const run = cli(["put", "big.bin", url(srv, "t/big.bin"), "--part-files"]);
    await held.nth(0);
    expect(await stopWith(run, "SIGTERM"), run.lines.join("\n")).to.equal(143);
    expect(run.lines).to.include('ftpstream: stopped by SIGTERM: "t/big.bin" left as it was');
    expect(srv.vfs.get("/t/big.bin")?.toString()).to.equal("the old copy");
    expect(srv.vfs.exists("/t/.big.bin.ftpstream-part")).to.equal(false);
    expect(srv.commands).to.include("DELE t/.big.bin.ftpstream-part");
  });

  it("put --part-files: a signal while the target is deleted to make room, the rename then refused again, says the upload stays whole at its part (exit 130)", async () => {
    const srv = await start({ files: { "/t/big.bin": "the old copy" } });
    refuseOverExisting(srv, true);
    const deletes = holdCommand(srv, "DELE");
    writeFileSync(join(dir(), "big.bin"), "the new copy");
    const run = cli(["put", "big.bin", url(srv, "t/big.bin"), "--part-files"]);
    const held = await deletes.nth(0);
    expect(held.arg).to.equal("t/big.bin");
    // The signal is in before the DELE's reply: the rename that follows is two round trips away.
    run.child.kill("SIGINT");
    deletes.releaseAll();
    const code = await run.exit;
    expect(run.child.signalCode, "died of the signal").to.equal(null);
    expect(code, run.lines.join("\n")).to.equal(130);
    expect(run.lines).to.include(
      'ftpstream: stopped by SIGINT: "t/big.bin" was deleted to make room, and the complete upload stays at "t/.big.bin.ftpstream-part"',
    );
    expect(srv.vfs.exists("/t/big.bin")).to.equal(false);
    expect(srv.vfs.get("/t/.big.bin.ftpstream-part")?.toString()).to.equal("the new copy");
  });

  it("a signal once the transfer is complete (QUIT unanswered) says so: get's file and put's upload are whole, exit 143 at once", async () => {
    const srv = await start({ files: { "/t/a.txt": "alpha\n" } });
    const quits = holdCommand(srv, "QUIT");
    writeFileSync(join(dir(), "b.txt"), "beta\n");
    const get = cli(["get", url(srv, "t/a.txt")]);
    const put = cli(["put", "b.txt", url(srv, "t/b.txt"), "--part-files"]);
    await quits.nth(1);
    expect(await stopWith(get, "SIGTERM"), get.lines.join("\n")).to.equal(143);
    expect(await stopWith(put, "SIGTERM"), put.lines.join("\n")).to.equal(143);
    expect(get.lines).to.include('ftpstream: stopped by SIGTERM: "a.txt" was downloaded whole');
    expect(put.lines).to.include('ftpstream: stopped by SIGTERM: "t/b.txt" was uploaded whole');
    expect(localTree(dir())).to.deep.equal({ "a.txt": "alpha\n", "b.txt": "beta\n" });
    expect(srv.vfs.get("/t/b.txt")?.toString()).to.equal("beta\n");
  });

  it("a signal while connecting to a server that never greets exits 143 at once (get, put), not after the timeout", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silent.address() as { port: number };
      writeFileSync(join(dir(), "b.txt"), "beta\n");
      const runs = [
        cli(["get", `ftp://user:pass@127.0.0.1:${port}/a.txt`]),
        cli(["put", "b.txt", `ftp://user:pass@127.0.0.1:${port}/b.txt`]),
      ];
      while (sockets.length < runs.length) await new Promise((resolve) => silent.once("connection", resolve));
      for (const run of runs) expect(await stopWith(run, "SIGTERM"), run.lines.join("\n")).to.equal(143);
      expect(runs[0].lines).to.include('ftpstream: stopped by SIGTERM: "a.txt" left as it was, its part file removed');
      expect(localTree(dir())).to.deep.equal({ "b.txt": "beta\n" });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe("mirror --queue (the enqueuing side)", () => {
    const redis = useRedis();

    it("SIGTERM while --wait waits for the workers exits 143 naming it; the jobs stay in the queue", async () => {
      const srv = await start({ files: { "/t/a.txt": "alpha\n", "/t/b.txt": "beta\n" } });
      mkdirSync(join(dir(), "down"));
      const run = cli(["mirror", url(srv, "t"), join(dir(), "down"), "--queue", redis().url("signals"), "--wait"]);
      // No worker runs: the wait would never end.
      await run.waitFor((lines) => lines.some((line) => line.startsWith("enqueued 2 files")));
      expect(await stopWith(run, "SIGTERM"), run.lines.join("\n")).to.equal(143);
      expect(run.lines).to.include(
        "ftpstream: stopped by SIGTERM: no more jobs enqueued; those enqueued stay in the queue for its workers",
      );
    });
  });
});
