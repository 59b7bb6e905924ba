/**
 * Chaos soak: downloads and uploads of random sizes, passive and active,
 * through the chaos proxy (spec/chaos/proxy.ts) that resets, closes and
 * stalls control and data connections at random byte offsets, delays
 * what it forwards and writes some chunks in pieces (split writes).
 *
 * - With `retry` on, every transfer ends byte-exact (the file read back, or
 *   the file the server stored, compared with the pattern), none runs past
 *   its deadline, and at the end no socket, listener or connection is left
 *   and (long run) the heap is flat.
 * - With `retry` off, every transfer whose data connection a fault cut
 *   errors, and every transfer that ends well is byte-exact: none ends as
 *   success with bytes missing.
 *
 * The server is vsftpd, started on loopback (spec/interop/servers.ts),
 * where it is installed (CI installs it), else the scripted fixture; the
 * output says which (see soak-server.ts). Passive and active both go
 * through the proxy: it rewrites the server's 227/229 and the client's
 * PORT/EPRT, so faults hit data connections of either mode.
 *
 * In `npm test` it is short (a few seconds). `npm run soak -- --chaos`
 * (CHAOS=long) runs hundreds of transfers and prints its figures. The seed
 * is printed; CHAOS_SEED=<n> replays a run (CHAOS_SERVER=fixture: against
 * the fixture).
 *
 * Server conversation per transfer: the server's own (TYPE I, EPSV/PASV or
 * PORT/EPRT, [REST n], RETR /f<i>.bin, vsftpd's and the fixture's 150
 * announcing the size; or [SIZE, REST n] STOR /up<i>.bin; SIZE after an
 * upload under retry), through the proxy.
 */
import { expect } from "chai";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FTP } from "../../lib/index.js";
import type { RetryEvent } from "../../lib/index.js";
import { patternBytes, patternMismatch } from "../../fixtures/server.js";
import { collectGarbage, EscapeTrap, excess, handleCounts, outcome, settleIo, until } from "../faults/helpers.js";
import { ChaosProxy, seededRandom } from "./proxy.js";
import { SoakServer, startSoakServer } from "./soak-server.js";

const LONG = process.env.CHAOS === "long";
const TRANSFERS = LONG ? 400 : 16;
const FILES = LONG ? 40 : 8;
const MAX_SIZE = LONG ? 1024 * 1024 : 256 * 1024;
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Client timeout: a stall is a black hole the client must notice. */
const TIMEOUT = 800;
/** A transfer still running after this is a hang (retries and backoff included). */
const DEADLINE = 30_000;
const RETRY = { attempts: 12, minDelay: 5, maxDelay: 100 };
const HEAP_SLACK = 4 * 1024 * 1024;
/** CHAOS_DEBUG=1 or 2: the retry-on client's debug output, to read a replayed run. */
const DEBUG = Number(process.env.CHAOS_DEBUG ?? 0);

interface Figures {
  transfers: number;
  downloads: number;
  uploads: number;
  active: number;
  bytes: number;
  retries: number;
  errors: number;
  bytesLost: number;
}

/** Fails if `promise` has not settled within DEADLINE ms: a hang. */
async function withinDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running after ${DEADLINE} ms: a hang`)), DEADLINE);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

async function download(ftp: FTP, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of ftp.retrbinary(`RETR ${path}`)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function upload(ftp: FTP, path: string, payload: Buffer): Promise<void> {
  // A few chunks, so a fault can land between writes.
  const parts = [payload.subarray(0, payload.length >> 2), payload.subarray(payload.length >> 2)];
  await pipeline(Readable.from(parts), ftp.storbinary(`STOR ${path}`));
}

/** Bytes of `data` that differ from, or are missing against, the pattern of `size` bytes from `start`. */
function bytesLost(data: Buffer | undefined, size: number, start: number): number {
  if (!data) return size;
  if (data.length !== size) return Math.abs(size - data.length) || 1;
  return patternMismatch(data, start) === -1 ? 0 : 1;
}

describe(`chaos soak (${LONG ? "long" : "short"}: ${TRANSFERS} transfers, seed ${SEED})`, function () {
  this.timeout(LONG ? 1_200_000 : 120_000);
  let srv: SoakServer;
  let proxy: ChaosProxy;
  let trap: EscapeTrap;
  const sizes: number[] = [];

  beforeEach(async () => {
    trap = new EscapeTrap();
    const random = seededRandom(SEED);
    sizes.length = 0;
    const files: Record<string, number> = {};
    for (let i = 0; i < FILES; i++) {
      sizes.push(Math.floor(random() * MAX_SIZE));
      files[`/f${i}.bin`] = sizes[i];
    }
    srv = await startSoakServer(files);
    console.log(`      against ${srv.name}`);
  });
  afterEach(async () => {
    trap.release();
    await proxy?.close();
    await srv.close();
  });

  function startProxy(rates: { control: number; data: number }): Promise<ChaosProxy> {
    return ChaosProxy.start({
      target: { host: srv.host, port: srv.port },
      seed: SEED,
      controlFaultRate: rates.control,
      dataFaultRate: rates.data,
      // A control connection carries ~200 bytes of replies per transfer: a
      // fault somewhere in the next ~20 transfers, drawn again for each new connection.
      maxControlOffset: 4000,
      maxDataOffset: MAX_SIZE / 2,
      delayRate: 0.05,
      splitRate: 0.1,
      maxDelayMs: 5,
      stallMs: TIMEOUT * 3,
    });
  }

  it("with retry on: every transfer byte-exact, none hangs, nothing left open, memory flat", async () => {
    const baseline = handleCounts();
    proxy = await startProxy({ control: 0.6, data: 0.4 });
    // Drawn faults may all miss a short run (seed 760157190: 16 transfers,
    // none cut): the first control connection is reset once 1,000 bytes of
    // replies went through (login and about five transfers), so every run
    // meets at least one fault.
    proxy.inject({ channel: "control", kind: "reset", afterBytes: 1000 });
    const random = seededRandom(SEED + 1);
    const events: RetryEvent[] = [];
    const ftp = new FTP({
      host: proxy.host,
      port: proxy.port,
      user: srv.user,
      password: srv.password,
      timeout: TIMEOUT,
      retry: RETRY,
      debugLevel: DEBUG,
    });
    ftp.on("retry", (event) => events.push(event));
    await ftp.ready;
    const figures: Figures = { transfers: 0, downloads: 0, uploads: 0, active: 0, bytes: 0, retries: 0, errors: 0, bytesLost: 0 };
    let heapBefore = 0;
    for (let i = 0; i < TRANSFERS; i++) {
      if (i === Math.floor(TRANSFERS / 4)) {
        collectGarbage();
        heapBefore = process.memoryUsage().heapUsed;
      }
      const passive = random() < 0.5;
      const isUpload = random() < 0.5;
      const file = Math.floor(random() * FILES);
      ftp.setPasv(passive);
      if (!passive) figures.active++;
      if (isUpload) {
        const size = Math.floor(random() * MAX_SIZE);
        const start = Math.floor(random() * 1000);
        const path = `/up${i % FILES}.bin`;
        await withinDeadline(upload(ftp, path, patternBytes(start, size)), `upload ${i}`);
        figures.bytesLost += bytesLost(srv.read(path), size, start);
        figures.uploads++;
        figures.bytes += size;
      } else {
        const data = await withinDeadline(download(ftp, `/f${file}.bin`), `download ${i}`);
        figures.bytesLost += bytesLost(data, sizes[file], 0);
        figures.downloads++;
        figures.bytes += sizes[file];
      }
      figures.transfers++;
      if (i % 50 === 49) srv.forgetCommands();
    }
    figures.retries = events.length;
    await outcome(ftp.quit());
    ftp.close();
    srv.forgetCommands();
    await until(() => !srv.openConnections() && proxy.openSockets === 0, 10_000);
    await proxy.close();
    await until(() => excess(baseline, handleCounts()).length === 0, 5000);
    await settleIo();
    collectGarbage();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    const { faults } = proxy.stats;
    console.log(
      `      chaos soak against ${srv.name}, retry on (seed ${SEED}): ${figures.transfers} transfers (${figures.downloads} downloads, ${figures.uploads} uploads; ${figures.active} active), ` +
        `${(figures.bytes / 1024 / 1024).toFixed(1)} MiB; faults injected ${proxy.faultsInjected} (reset ${faults.reset}, close ${faults.close}, stall ${faults.stall}), ` +
        `faults survived ${figures.bytesLost === 0 ? proxy.faultsInjected : "n/a"}, retries ${figures.retries}, delays ${proxy.stats.delays}, bytes lost ${figures.bytesLost}; ` +
        `heap growth ${(heapGrowth / 1024).toFixed(0)} KiB`,
    );
    expect(figures.bytesLost, "bytes lost or wrong").to.equal(0);
    expect(figures.transfers).to.equal(TRANSFERS);
    expect(proxy.faultsInjected, "faults injected").to.be.greaterThan(0);
    expect(srv.openConnections() ?? 0, "server connections left").to.equal(0);
    expect(proxy.openSockets, "connections left through the proxy").to.equal(0);
    expect(excess(baseline, handleCounts()), "handles left open").to.deep.equal([]);
    if (LONG) expect(heapGrowth, "heap growth").to.be.below(HEAP_SLACK);
    expect(trap.escaped.map(String), "uncaught exceptions / unhandled rejections").to.deep.equal([]);
  });

  it("with retry off: every transfer a data fault cut errors, and none that ends well is short", async () => {
    const baseline = handleCounts();
    proxy = await startProxy({ control: 0.3, data: 0.5 });
    // As above: drawn faults may cut no transfer of a short run, so the
    // first data connection is reset at its first byte.
    proxy.inject({ channel: "data", kind: "reset", afterBytes: 1 });
    const random = seededRandom(SEED + 2);
    const clients: FTP[] = [];
    const connect = async (): Promise<FTP> => {
      const client = new FTP({ host: proxy.host, port: proxy.port, user: srv.user, password: srv.password, timeout: TIMEOUT });
      clients.push(client);
      await client.ready;
      return client;
    };
    let ftp: FTP | undefined;
    let cut = 0;
    let cutAndSucceeded = 0;
    let succeeded = 0;
    let shortSuccesses = 0;
    for (let i = 0; i < TRANSFERS; i++) {
      if (!ftp || ftp.closed) {
        const made = await outcome(connect());
        if (!made.ok) continue;
        ftp = made.value;
      }
      const faultsBefore = proxy.stats.log.filter((fault) => fault.channel === "data").length;
      ftp.setPasv(random() < 0.5);
      const isUpload = random() < 0.5;
      const file = Math.floor(random() * FILES);
      const size = Math.floor(random() * MAX_SIZE);
      const path = `/off${i}.bin`;
      const result = await withinDeadline(
        outcome<Buffer | undefined>(
          isUpload ? upload(ftp, path, patternBytes(0, size)).then(() => undefined) : download(ftp, `/f${file}.bin`),
        ),
        `transfer ${i}`,
      );
      const dataCut = proxy.stats.log.filter((fault) => fault.channel === "data").length > faultsBefore;
      if (dataCut) cut++;
      if (result.ok) {
        succeeded++;
        if (dataCut) cutAndSucceeded++;
        const lost = isUpload ? bytesLost(srv.read(path), size, 0) : bytesLost(result.value, sizes[file], 0);
        if (lost > 0) shortSuccesses++;
      }
    }
    for (const client of clients) client.close();
    await until(() => !srv.openConnections() && proxy.openSockets === 0, 10_000);
    await proxy.close();
    await until(() => excess(baseline, handleCounts()).length === 0, 5000);
    console.log(
      `      chaos soak against ${srv.name}, retry off (seed ${SEED}): ${TRANSFERS} transfers, ${succeeded} ended well (all byte-exact: ${shortSuccesses === 0}), ` +
        `${cut} cut by a data fault (all errored: ${cutAndSucceeded === 0}), faults injected ${proxy.faultsInjected}`,
    );
    expect(cut, "transfers cut by a data fault").to.be.greaterThan(0);
    expect(cutAndSucceeded, "transfers a data fault cut that still ended well").to.equal(0);
    expect(shortSuccesses, "transfers that ended well with bytes missing").to.equal(0);
    expect(excess(baseline, handleCounts()), "handles left open").to.deep.equal([]);
    expect(trap.escaped.map(String), "uncaught exceptions / unhandled rejections").to.deep.equal([]);
  });
});
