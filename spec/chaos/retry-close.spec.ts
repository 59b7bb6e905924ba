/**
 * Two paths no chaos soak covered, through the chaos proxy with seeded
 * random faults (CHAOS_SEED=<n> replays a run; the seed is printed):
 *
 * - FTPS under `retry` (explicit, PROT P), its control connection through
 *   the proxy in opaque mode, reset, closed or stalled at random offsets
 *   (inside a handshake, a login, a transfer's replies) and split and
 *   delayed: every download and upload ends byte-exact, each RETR and
 *   STOR the server got ran under PROT P on a secured connection, every
 *   call settles, and nothing is left open.
 * - FtpPool.close({ timeout }) while segmented downloads and a tree
 *   download run through the proxy (data and control faults, stalls):
 *   close() settles within its grace period (plus a scheduling margin),
 *   every call settles, a call that resolved left whole files, no part
 *   file is left and none renamed into place short, and no socket or
 *   timer is left (process.getActiveResourcesInfo()).
 *
 * Server conversation: the fixture's (FTPS: AUTH TLS, USER, PASS, PBSZ 0,
 * PROT P, TYPE I, EPSV, [REST n], RETR /f<i>.bin / STOR /up<i>.bin, its
 * 150 giving the size; the pool: SIZE, FEAT, REST n, RETR, MLSD).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FixtureServer, patternBytes, patternFile, patternMismatch, type Session } from "../../fixtures/server.js";
import { FTP, FtpPool, type FTP_TLS } from "../../lib/index.js";
import { EscapeTrap, excess, handleCounts, outcome, settleIo, until } from "../faults/helpers.js";
import { useTlsFixture } from "../tls/tls-fixture.js";
import { ChaosProxy, seededRandom } from "./proxy.js";

/**
 * A random seed unless CHAOS_SEED gives one, as the other soaks draw
 * (CHAOS_SEED=random is the default said out loud). Seed 1084900837 and
 * some 3 in 50 others once failed `ready`: the proxy split "AUTH TLS\r\n"
 * between CR and LF, and the fixture switched to TLS at the CR and read
 * the LF as the ClientHello's first byte (fixed in the fixture; spec
 * chaos/auth-line-split).
 */
const SEED = Number(
  process.env.CHAOS_SEED && process.env.CHAOS_SEED !== "random" ? process.env.CHAOS_SEED : Math.floor(Math.random() * 2 ** 31),
);
/** Client timeout: a stall is a black hole the client must notice. */
const TIMEOUT = 800;
/** A call still running after this is a hang (retries and backoff included). */
const DEADLINE = 30_000;
/** What close() may take past its grace period: timers firing late on a loaded machine, sockets closing. */
const CLOSE_MARGIN = 1000;

/** Rejects if `promise` has not settled within `ms`: a hang. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms (seed ${SEED})`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Timers alive now (getActiveResourcesInfo's "Timeout"), which handleCounts() leaves out. */
function timers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

/** Every file below `root`, by path relative to it. */
function localFiles(root: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  const walk = (dir: string, prefix: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), path);
      else found.set(path, fs.readFileSync(join(dir, entry.name)));
    }
  };
  walk(root, "");
  return found;
}

describe(`chaos: FTPS under retry, and FtpPool.close({ timeout }) mid-transfer (seed ${SEED})`, function () {
  this.timeout(120_000);
  let trap: EscapeTrap;
  let proxy: ChaosProxy | undefined;

  beforeEach(() => {
    trap = new EscapeTrap();
  });
  afterEach(async () => {
    trap.release();
    await proxy?.close();
    proxy = undefined;
  });

  describe("FTPS control connection through the opaque proxy, retry on", () => {
    const fx = useTlsFixture();
    const FILES = 6;
    const TRANSFERS = 40;

    it("every transfer byte-exact under PROT P on a secured connection, every call settles, nothing left open", async () => {
      const random = seededRandom(SEED);
      const sizes = Array.from({ length: FILES }, () => Math.floor(random() * 300_000));
      const files: Record<string, ReturnType<typeof patternFile>> = {};
      sizes.forEach((size, i) => (files[`/f${i}.bin`] = patternFile(size)));
      const srv = await fx.start({ files });
      // The protection and TLS state each transfer found on the server.
      const seen: string[] = [];
      for (const verb of ["RETR", "STOR"]) {
        srv.handle(verb, (s: Session, arg) => {
          seen.push(`${verb} prot=${s.state.prot} tls=${s.state.tls}`);
          return s.defaultHandler(verb, arg);
        });
      }
      const baseline = handleCounts();
      const timersBefore = timers();
      proxy = await ChaosProxy.start({
        target: { host: srv.host, port: srv.port },
        seed: SEED,
        opaque: true,
        controlFaultRate: 0.7,
        // The handshake is some 1.5 KB of the server's; a transfer's replies some 200 bytes more, each TLS-framed (some 150 bytes a transfer).
        maxControlOffset: 3000,
        delayRate: 0.05,
        splitRate: 0.2,
        maxDelayMs: 5,
        stallMs: TIMEOUT * 3,
      });
      // ready itself is not retried (README, "What is retried"): the first connection's fault comes after its
      // handshake and login (some 1.7 KB), at a seeded offset; each new connection's is drawn, inside its handshake too.
      const kinds = ["reset", "close", "stall"] as const;
      proxy.inject({ channel: "control", kind: kinds[Math.floor(random() * 3)], afterBytes: 2500 + Math.floor(random() * 2000) });
      const ftp: FTP_TLS = fx.client({
        host: proxy.host,
        port: proxy.port,
        user: "user",
        password: "pass",
        timeout: TIMEOUT,
        debugLevel: Number(process.env.CHAOS_DEBUG ?? 0),
        retry: { attempts: 12, minDelay: 5, maxDelay: 100 },
      });
      await within(ftp.ready, DEADLINE, "ready");
      let retries = 0;
      ftp.on("retry", () => retries++);
      for (let i = 0; i < TRANSFERS; i++) {
        ftp.setPasv(true);
        if (random() < 0.5) {
          const file = Math.floor(random() * FILES);
          const chunks: Buffer[] = [];
          await within(
            (async () => {
              for await (const chunk of ftp.retrbinary(`RETR /f${file}.bin`)) chunks.push(chunk as Buffer);
            })(),
            DEADLINE,
            `download ${i}`,
          );
          const data = Buffer.concat(chunks);
          expect(data.length, `download ${i} of /f${file}.bin (seed ${SEED})`).to.equal(sizes[file]);
          expect(patternMismatch(data), `download ${i} (seed ${SEED})`).to.equal(-1);
        } else {
          const size = Math.floor(random() * 300_000);
          const start = Math.floor(random() * 1000);
          const payload = patternBytes(start, size);
          const parts = [payload.subarray(0, size >> 2), payload.subarray(size >> 2)];
          await within(pipeline(Readable.from(parts), ftp.storbinary(`STOR /up${i}.bin`)), DEADLINE, `upload ${i}`);
          const stored = srv.vfs.get(`/up${i}.bin`);
          expect(stored?.length, `upload ${i} (seed ${SEED})`).to.equal(size);
          expect(stored!.equals(payload), `upload ${i} byte-exact (seed ${SEED})`).to.equal(true);
        }
      }
      await outcome(ftp.quit());
      ftp.close();
      expect(
        seen.filter((line) => !line.endsWith("prot=P tls=true")),
        `transfers not protected (seed ${SEED})`,
      ).to.deep.equal([]);
      expect(proxy.faultsInjected, "faults injected").to.be.greaterThan(0);
      await until(() => srv.openConnections() === 0 && proxy!.openSockets === 0, 10_000);
      await proxy.close();
      await until(() => excess(baseline, handleCounts()).length === 0 && timers() <= timersBefore, 5000);
      await settleIo();
      console.log(
        `      FTPS retry (seed ${SEED}): ${TRANSFERS} transfers, faults ${proxy.faultsInjected} (${JSON.stringify(proxy.stats.faults)}), retries ${retries}, splits ${proxy.stats.splits}`,
      );
      expect(excess(baseline, handleCounts()), "handles left open").to.deep.equal([]);
      expect(timers(), "timers left").to.be.at.most(timersBefore);
      expect(trap.escaped.map(String), "uncaught exceptions / unhandled rejections").to.deep.equal([]);
    });
  });

  describe("FtpPool.close({ timeout }) while transfers run through the proxy", () => {
    const RUNS = 4;

    it("close() settles within its grace period, every call settles, no short file is renamed into place, nothing left", async () => {
      const random = seededRandom(SEED + 100);
      const big = 2_000_000;
      const tree: Record<string, Buffer> = {};
      for (let f = 0; f < 8; f++) tree[`/tree/d${f % 2}/f${f}.bin`] = patternBytes(f, 1000 + Math.floor(random() * 80_000));
      const srv = await FixtureServer.start({ files: { "/big.bin": patternFile(big), ...tree } });
      const local = fs.mkdtempSync(join(tmpdir(), "ftpstream-chaos-close-"));
      const summary: string[] = [];
      try {
        for (let run = 0; run < RUNS; run++) {
          const baseline = handleCounts();
          const timersBefore = timers();
          proxy = await ChaosProxy.start({
            target: { host: srv.host, port: srv.port },
            seed: SEED + run,
            controlFaultRate: 0.2,
            dataFaultRate: 0.3,
            maxControlOffset: 3000,
            maxDataOffset: 500_000,
            // Slow enough that the transfers are still running when close() comes.
            delayRate: 0.3,
            splitRate: 0.2,
            maxDelayMs: 20,
            stallMs: TIMEOUT * 3,
          });
          const target = proxy;
          const pool = new FtpPool({
            size: 3,
            connect: async () => {
              const ftp = new FTP({ host: target.host, port: target.port, user: "user", password: "pass", timeout: TIMEOUT });
              await ftp.ready;
              return ftp;
            },
          });
          const dir = join(local, `run${run}`);
          fs.mkdirSync(dir);
          const segmented = outcome(pool.downloadSegmented("/big.bin", join(dir, "big.bin"), { segments: 3, minSegmentSize: 1 }));
          const treeDone = outcome(pool.downloadDir("/tree", join(dir, "tree")));
          const grace = [0, 50, 300, 3000][Math.floor(random() * 4)];
          await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(random() * 400)));
          const began = Date.now();
          await within(pool.close({ timeout: grace }), grace + CLOSE_MARGIN, `run ${run}: close({ timeout: ${grace} })`);
          const took = Date.now() - began;
          const [seg, walked] = await within(Promise.all([segmented, treeDone]), DEADLINE, `run ${run}: the calls after close()`);
          const after = localFiles(dir);
          for (const [path, bytes] of after) {
            expect(path, `run ${run} (seed ${SEED}): a part file left`).to.not.match(/ftpstream-part$/);
            const whole =
              path === "big.bin" ? bytes.length === big && patternMismatch(bytes) === -1 : tree[`/${path}`]?.equals(bytes) === true;
            expect(whole, `run ${run} (seed ${SEED}): ${path} is not the source's bytes (${bytes.length})`).to.equal(true);
          }
          if (seg.ok) expect(after.has("big.bin"), `run ${run}: segmented resolved, big.bin missing`).to.equal(true);
          if (!seg.ok) expect(after.has("big.bin"), `run ${run}: segmented failed, big.bin in place`).to.equal(false);
          if (walked.ok) {
            for (const path of Object.keys(tree))
              expect(after.has(path.slice(1)), `run ${run}: downloadDir resolved, ${path} missing`).to.equal(true);
          }
          // Every connection ends by itself once the pool is closed: none is left for proxy.close() to cut.
          await until(() => srv.openConnections() === 0 && target.openSockets === 0, 5000);
          expect(srv.openConnections(), `run ${run} (seed ${SEED}): server connections left`).to.equal(0);
          expect(target.openSockets, `run ${run} (seed ${SEED}): connections left through the proxy`).to.equal(0);
          await target.close();
          proxy = undefined;
          await until(() => excess(baseline, handleCounts()).length === 0 && timers() <= timersBefore, 5000);
          expect(excess(baseline, handleCounts()), `run ${run} (seed ${SEED}): handles left open`).to.deep.equal([]);
          expect(timers(), `run ${run} (seed ${SEED}): timers left`).to.be.at.most(timersBefore);
          summary.push(`grace ${grace}: ${took} ms, segmented ${seg.ok ? "ok" : "failed"}, tree ${walked.ok ? "ok" : "failed"}`);
        }
      } finally {
        fs.rmSync(local, { recursive: true, force: true });
        await srv.close();
      }
      await settleIo();
      console.log(`      pool close (seed ${SEED}): ${summary.join("; ")}`);
      expect(trap.escaped.map(String), "uncaught exceptions / unhandled rejections").to.deep.equal([]);
    });
  });
});
