import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultFeatures, FixtureServer, patternFile, patternMismatch } from "../../fixtures/server.js";
import { FTP, FtpPool } from "../../lib/index.js";

describe("FtpPool", () => {
  let server: FixtureServer;
  let pool: FtpPool;
  let dir: string;

  beforeEach(async () => {
    server = await FixtureServer.start({ files: { "/big.bin": patternFile(20 * 1024 * 1024 + 7), "/a.txt": "A" } });
    pool = new FtpPool({ size: 3, connect: () => FTP.create({ host: server.host, port: server.port, user: "user", password: "pass" }) });
    dir = mkdtempSync(join(tmpdir(), "ftpstream-pool-"));
  });

  afterEach(async () => {
    await pool.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs tasks in parallel on at most `size` connections, reusing them", async () => {
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        pool.use(async (ftp) => {
          running++;
          peak = Math.max(peak, running);
          const reply = await ftp.sendcmd("NOOP");
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
          return `${i}:${reply.slice(0, 3)}`;
        }),
      ),
    );
    expect(results).to.deep.equal(Array.from({ length: 9 }, (_, i) => `${i}:200`));
    expect(peak).to.equal(3);
    expect(server.commands.filter((c) => c === "USER user")).to.have.length(3);
  });

  it("replaces a client that ended closed", async () => {
    await pool.use(async (ftp) => ftp.close());
    expect(await pool.use((ftp) => ftp.pwd())).to.equal("/");
    expect(server.commands.filter((c) => c === "USER user")).to.have.length(2);
  });

  it("downloads one file in segments over several connections, byte for byte", async () => {
    const target = join(dir, "big.bin");
    const bytes = await pool.downloadSegmented("/big.bin", target, { segments: 3, minSegmentSize: 1024 * 1024 });
    expect(bytes).to.equal(20 * 1024 * 1024 + 7);
    const data = readFileSync(target);
    expect(data.length).to.equal(bytes);
    expect(patternMismatch(data)).to.equal(-1);
    const rests = server.commands.filter((c) => c.startsWith("REST")).sort();
    expect(rests).to.have.length(2);
    // The pool's clients are still usable after the ABORs that cut segments.
    expect(await pool.use((ftp) => ftp.pwd())).to.equal("/");
  });

  it("downloads over one connection, with no REST, from a server whose FEAT lists no REST STREAM", async () => {
    const restless = await FixtureServer.start({
      files: { "/big.bin": patternFile(3 * 1024 * 1024) },
      features: defaultFeatures(false).filter((line) => line !== "REST STREAM"),
    });
    const restlessPool = new FtpPool({
      size: 3,
      connect: () => FTP.create({ host: restless.host, port: restless.port, user: "user", password: "pass" }),
    });
    try {
      const target = join(dir, "whole.bin");
      const bytes = await restlessPool.downloadSegmented("/big.bin", target, { segments: 3, minSegmentSize: 1024 * 1024 });
      expect(bytes).to.equal(3 * 1024 * 1024);
      expect(patternMismatch(readFileSync(target))).to.equal(-1);
      expect(restless.commands.filter((c) => c.startsWith("REST"))).to.deep.equal([]);
    } finally {
      await restlessPool.close();
      await restless.close();
    }
  });

  it("rejects use() after close()", async () => {
    await pool.close();
    const error = await pool
      .use((ftp) => ftp.pwd())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as { code?: unknown }).code).to.equal("ERR_FTP_POOL_CLOSED");
  });
});
