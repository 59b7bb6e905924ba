/**
 * The chaos proxy itself: it carries passive and active data connections
 * (rewriting 227/229 and PORT/EPRT), fires a scripted fault at its byte
 * offset, and draws the same random faults for the same seed.
 *
 * Server conversation: the fixture's defaults (USER, PASS, TYPE I,
 * EPSV/PASV or PORT/EPRT, RETR /f.bin with `150 ... (n bytes)`, data, 226).
 */
import { expect } from "chai";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FTP, FtpSizeMismatchError } from "../../lib/index.js";
import { FixtureServer, patternBytes, patternFile, patternMismatch } from "../../fixtures/server.js";
import { outcome } from "../faults/helpers.js";
import { ChaosProxy, seededRandom } from "./proxy.js";

const SIZE = 200_000;

async function download(ftp: FTP, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of ftp.retrbinary(`RETR ${path}`)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("chaos proxy", () => {
  let srv: FixtureServer;
  let proxy: ChaosProxy | undefined;
  const clients: FTP[] = [];

  beforeEach(async () => {
    srv = await FixtureServer.start({ files: { "/f.bin": patternFile(SIZE) } });
  });
  afterEach(async () => {
    for (const ftp of clients.splice(0)) ftp.close();
    await proxy?.close();
    proxy = undefined;
    await srv.close();
  });

  function client(options: { passive?: boolean; useEpsv?: boolean } = {}): FTP {
    const ftp = new FTP({ host: proxy!.host, port: proxy!.port, user: "user", password: "pass", timeout: 5000, ...options });
    clients.push(ftp);
    return ftp;
  }

  for (const [mode, options] of [
    ["EPSV", { passive: true }],
    ["PASV", { passive: true, useEpsv: false }],
    ["PORT", { passive: false }],
  ] as const) {
    it(`carries a ${mode} data connection byte for byte`, async () => {
      proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port }, delayRate: 0.5, maxDelayMs: 2 });
      const ftp = client(options);
      await ftp.ready;
      const data = await download(ftp, "/f.bin");
      expect(data.length).to.equal(SIZE);
      expect(patternMismatch(data)).to.equal(-1);
      expect(proxy.stats.dataConnections, "data connections through the proxy").to.equal(1);
      expect(srv.commands.some((line) => line.startsWith(mode))).to.equal(true);
    });
  }

  it("splits every forwarded chunk into pieces (splitRate 1): replies cut mid-line and data in pieces still carry a login, a listing and a download byte for byte", async () => {
    proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port }, seed: 3, splitRate: 1 });
    const ftp = client();
    await ftp.ready;
    expect(await ftp.nlst("/")).to.deep.equal(["/f.bin"]);
    const data = await download(ftp, "/f.bin");
    expect(data.length).to.equal(SIZE);
    expect(patternMismatch(data)).to.equal(-1);
    expect(proxy.stats.splits, "chunks written in pieces").to.be.greaterThan(3);
  });

  it("resets a data connection at the scripted offset: the download errors, with no more than that many bytes delivered", async () => {
    proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port } });
    proxy.inject({ channel: "data", kind: "reset", afterBytes: 50_000 });
    const ftp = client();
    await ftp.ready;
    let received = 0;
    // A reset that reaches the client after it has read everything before
    // it can look like a clean end (the kernel reports EOF); the size check
    // catches that case.
    const stream = ftp.retrbinary("RETR /f.bin", { verifySize: true });
    stream.on("data", (chunk: Buffer) => (received += chunk.length));
    const result = await outcome(new Promise((resolve, reject) => stream.on("end", resolve).on("error", reject)));
    expect(result.ok).to.equal(false);
    expect(received).to.be.at.most(50_000);
    expect(proxy.stats.faults.reset).to.equal(1);
  });

  it("truncates a data connection at the scripted offset: both sides see a clean end, so the server stores a short upload with 226 (verifySize catches it) and a download announced by size errors", async () => {
    proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port } });
    proxy.inject({ channel: "data", kind: "truncate", afterBytes: 30_000 });
    proxy.inject({ channel: "data", kind: "truncate", afterBytes: 50_000 });
    const ftp = client();
    await ftp.ready;
    const upload = ftp.storbinary("STOR /u.bin", { verifySize: true });
    const stored = await outcome(pipeline(Readable.from([patternBytes(0, 100_000)]), upload));
    expect(stored.ok).to.equal(false);
    if (!stored.ok) expect(stored.error).to.be.instanceOf(FtpSizeMismatchError);
    expect(srv.vfs.get("/u.bin")?.length, "bytes the server stored").to.equal(30_000);
    const fetched = await outcome(download(ftp, "/f.bin"));
    expect(fetched.ok).to.equal(false);
    if (!fetched.ok) expect(fetched.error).to.be.instanceOf(FtpSizeMismatchError);
    expect(proxy.stats.faults.truncate).to.equal(2);
  });

  it("drops the control connection at the scripted offset of the replies", async () => {
    proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port } });
    // The welcome is `220 ...\r\n`; cutting inside it leaves the client without one.
    proxy.inject({ channel: "control", kind: "close", afterBytes: 5 });
    const ftp = client();
    expect((await outcome(ftp.ready)).ok).to.equal(false);
    expect(proxy.stats.log).to.deep.equal([{ channel: "control", kind: "close", afterBytes: 5, connection: 1 }]);
  });

  it("draws the same faults for the same seed", async () => {
    const runs: unknown[] = [];
    for (let run = 0; run < 2; run++) {
      proxy = await ChaosProxy.start({ target: { host: srv.host, port: srv.port }, seed: 42, dataFaultRate: 0.5, kinds: ["reset"] });
      const ftp = client();
      await ftp.ready;
      for (let i = 0; i < 6; i++) await outcome(download(ftp, "/f.bin"));
      ftp.close();
      runs.push(proxy.stats.log.map(({ kind, afterBytes, connection }) => ({ kind, afterBytes, connection })));
      await proxy.close();
      proxy = undefined;
    }
    expect((runs[0] as unknown[]).length, "faults fired").to.be.greaterThan(0);
    expect(runs[1]).to.deep.equal(runs[0]);
    expect([seededRandom(7)(), seededRandom(7)()]).to.satisfy(([a, b]: number[]) => a === b);
  });
});
