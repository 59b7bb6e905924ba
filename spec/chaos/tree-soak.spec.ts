/**
 * Chaos soak of a tree download with `delete`, over an FtpPool whose
 * downloads and listings are written ahead of their turn (vsftpd's welcome
 * passes through the proxy: lib/transfer-ahead.ts), through the chaos
 * proxy that resets, closes and stalls control and data connections (and
 * delays and splits what it forwards).
 * Whatever the faults, after each run every local file is either the
 * source's bytes or what it was before (never a part, never short), no
 * local file that the server holds is deleted, no part file is left, and
 * the run settles. The seed is printed; CHAOS_SEED=<n> replays it.
 * Every other run passes a filter that takes some files in and answers
 * "walk" for every directory (as --include does): a file left out stays as
 * it was (or absent), and no directory is made on the target but above a
 * file taken in (d3 holds none).
 *
 * The server is vsftpd where installed (CI installs it), else the fixture
 * with vsftpd's welcome.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FixtureServer, patternBytes } from "../../fixtures/server.js";
import { FTP, FtpPool } from "../../lib/index.js";
import { findServer, startServer } from "../interop/servers.js";
import { outcome } from "../faults/helpers.js";
import { ChaosProxy, seededRandom } from "./proxy.js";

const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = 6;
/** Client timeout: a stall is a black hole the client must notice. */
const TIMEOUT = 800;
/** A run still going after this is a hang. */
const DEADLINE = 30_000;

/** The source tree: path below the root → bytes. */
function sourceTree(random: () => number): Map<string, Buffer> {
  const tree = new Map<string, Buffer>();
  for (let d = 0; d < 3; d++) {
    for (let f = 0; f < 6; f++) tree.set(`d${d}/f${f}.bin`, patternBytes(d * 7 + f, 1000 + Math.floor(random() * 60_000)));
  }
  for (let f = 0; f < 4; f++) tree.set(`top${f}.bin`, patternBytes(f, 500 + Math.floor(random() * 20_000)));
  // Nothing in d3 is taken in by the filtered runs' filter.
  for (let f = 0; f < 2; f++) tree.set(`d3/skip${f}.txt`, patternBytes(f, 100 + Math.floor(random() * 5000)));
  return tree;
}

/** The filtered runs' filter (paths below the root): every directory walked only, some files taken in. */
function takenIn(path: string): boolean {
  return /(^|\/)(f[0-2]|top[0-1])\.bin$/.test(path);
}
const walkOnly = (entry: { path: string; type: "file" | "dir" }): boolean | "walk" => (entry.type === "dir" ? "walk" : takenIn(entry.path));

/** Every directory below `root`, by path relative to it. */
function localDirs(root: string, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(join(root, prefix), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    found.push(path, ...localDirs(root, path));
  }
  return found;
}

interface TreeServer {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  close(): Promise<void>;
}

async function startTreeServer(tree: Map<string, Buffer>): Promise<TreeServer> {
  if (findServer("vsftpd").found) {
    const server = await startServer("vsftpd");
    for (const [path, bytes] of tree) {
      fs.mkdirSync(join(server.home, "tree", path, ".."), { recursive: true });
      fs.writeFileSync(join(server.home, "tree", path), bytes, { mode: 0o644 });
    }
    return { name: `vsftpd ${server.version}`, ...server, close: () => server.stop() };
  }
  const files: Record<string, Buffer> = {};
  for (const [path, bytes] of tree) files[`/tree/${path}`] = bytes;
  const fixture = await FixtureServer.start({ welcome: "220 (vsFTPd 3.0.3)", files });
  return {
    name: "the fixture (vsftpd not installed)",
    host: fixture.host,
    port: fixture.port,
    user: "user",
    password: "pass",
    close: () => fixture.close(),
  };
}

/** Every regular file below `root`, by path relative to it. */
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

describe(`chaos soak of a tree download written ahead, with delete (${RUNS} runs, seed ${SEED})`, function () {
  this.timeout(RUNS * DEADLINE);
  let srv: TreeServer;
  let tree: Map<string, Buffer>;

  before(async () => {
    tree = sourceTree(seededRandom(SEED));
    srv = await startTreeServer(tree);
    console.log(`      against ${srv.name}`);
  });
  after(async () => {
    await srv?.close();
  });

  it("leaves every local file whole (the source's bytes or its own), deletes none the server holds, leaves no part file, and settles", async () => {
    let faults = 0;
    let failedRuns = 0;
    const okRuns: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const random = seededRandom(SEED + run + 1);
      const filtered = run % 2 === 1;
      const local = fs.mkdtempSync(join(tmpdir(), "ftpstream-tree-soak-"));
      // The local tree before: some files stale (other bytes), some missing, some the server does not hold.
      const before = new Map<string, Buffer>();
      for (const [path] of tree) {
        // d3 is not on the target before: the filtered runs must not make it.
        if (random() < 0.5 && !path.startsWith("d3/")) before.set(path, Buffer.from(`stale ${path}\n`));
      }
      for (let i = 0; i < 3; i++) before.set(`d${i}/extra${i}.txt`, Buffer.from(`extra ${i}\n`));
      for (const [path, bytes] of before) {
        fs.mkdirSync(join(local, path, ".."), { recursive: true });
        fs.writeFileSync(join(local, path), bytes);
      }
      const proxy = await ChaosProxy.start({
        target: { host: srv.host, port: srv.port },
        seed: SEED + run,
        controlFaultRate: 0.25,
        dataFaultRate: 0.15,
        maxControlOffset: 3000,
        maxDataOffset: 40_000,
        delayRate: 0.05,
        splitRate: 0.1,
        maxDelayMs: 5,
        stallMs: TIMEOUT * 3,
      });
      const pool = new FtpPool({
        size: 2,
        connect: async () => {
          const ftp = new FTP({ host: proxy.host, port: proxy.port, user: srv.user, password: srv.password, timeout: TIMEOUT });
          await ftp.ready;
          return ftp;
        },
      });
      let timer: NodeJS.Timeout | undefined;
      try {
        const ran = await Promise.race([
          outcome(pool.downloadDir("/tree", local, { delete: true, ...(filtered ? { filter: walkOnly } : {}) })),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`run ${run} (seed ${SEED}) still going after ${DEADLINE} ms: a hang`)), DEADLINE);
          }),
        ]);
        if (!ran.ok) failedRuns++;
        else okRuns.push(run);
      } finally {
        clearTimeout(timer);
        await pool.close();
        faults += proxy.faultsInjected;
        await proxy.close();
      }
      const after = localFiles(local);
      const dirsBefore = new Set(
        [...before.keys()].flatMap((path) =>
          path
            .split("/")
            .slice(0, -1)
            .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
        ),
      );
      if (filtered) {
        for (const [path, bytes] of [...tree, ...before]) {
          if (takenIn(path)) continue;
          const was = before.get(path);
          expect(
            after.get(path)?.equals(was ?? Buffer.alloc(0)) ?? was === undefined,
            `run ${run}, seed ${SEED}: ${path}, left out by the filter, changed (${bytes.length})`,
          ).to.equal(true);
        }
        for (const dir of localDirs(local)) {
          if (dirsBefore.has(dir)) continue;
          const above = [...tree.keys()].some((path) => takenIn(path) && path.startsWith(`${dir}/`));
          expect(above, `run ${run}, seed ${SEED}: ${dir}, walked only, made with no file taken in below it`).to.equal(true);
        }
      }
      for (const [path, bytes] of after) {
        expect(path, `run ${run}, seed ${SEED}: a part file left`).to.not.match(/ftpstream-part$/);
        const source = tree.get(path);
        const was = before.get(path);
        const whole =
          (source !== undefined && (!filtered || takenIn(path)) && bytes.equals(source)) || (was !== undefined && bytes.equals(was));
        expect(whole, `run ${run}, seed ${SEED}: ${path} is neither the source's bytes nor its own (${bytes.length} bytes)`).to.equal(true);
      }
      for (const [path] of before) {
        if (tree.has(path) || filtered)
          expect(after.has(path), `run ${run}, seed ${SEED}: ${path}, which the server holds, was deleted`).to.equal(true);
      }
      fs.rmSync(local, { recursive: true, force: true });
    }
    console.log(`      ${RUNS} runs, ${failedRuns} of them with failures reported, ${faults} faults injected`);
    expect(faults, "the proxy injected faults").to.be.above(0);
  });
});
