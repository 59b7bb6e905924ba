/**
 * What the pool specs share: a fixture server per test, pools whose
 * clients log in to it (each one kept, to be looked at and closed after
 * the test), a gate that holds connects back, a task that holds its
 * client until told, and the check that a closed pool left no connection
 * or handle behind.
 */
import { expect } from "chai";
import { Readable } from "node:stream";
import { FixtureServer } from "../../fixtures/server.js";
import type { FixtureOptions, GeneratedFile } from "../../fixtures/server.js";
import { FTP, FtpPool } from "../../lib/index.js";
import type { FtpOptions } from "../../lib/index.js";
import { EscapeTrap, excess, handleCounts, settledWithin, settleIo, until } from "../faults/helpers.js";

/** The error `promise` rejected with, failing the spec if it resolved or never settled (within 2 s). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const result = await settledWithin(promise);
  if (result === "pending") expect.fail("the call never settled");
  if (result.ok) expect.fail(`the call resolved with ${JSON.stringify(result.value)}`);
  return result.error;
}

/** A file of `size` bytes whose every download sends its first 1000 bytes and then nothing more. */
export function stalling(size: number): GeneratedFile {
  return {
    size,
    generate: () => {
      const stream = new Readable({ read: () => undefined });
      stream.push(Buffer.alloc(1000));
      return stream;
    },
  };
}

/** A use() holding its client: `started` once its task runs, `release()` lets it return, `done` is the call. */
export interface HeldClient {
  started: Promise<FTP>;
  release: () => void;
  done: Promise<string>;
}

export interface PoolFixture {
  /** This test's server. */
  readonly server: FixtureServer;
  /** Every client the pools' connect functions made, in order. */
  readonly made: FTP[];
  /** While set, each connect waits on it before connecting. */
  gate: Promise<void> | undefined;
  /** A pool of `size` whose clients log in as user/pass (with `options` given to each, e.g. a `timeout`); closed after the test. */
  poolOf(size: number, options?: FtpOptions): FtpPool;
  /** A use() whose task holds its client until `release()` (then sends nothing more: close() may be quitting it). */
  hold(pool: FtpPool): HeldClient;
  /** No socket left on either side, no handle beyond the count taken before the test, nothing escaped. */
  expectNoLeaks(): Promise<void>;
}

/**
 * Registers beforeEach/afterEach for a describe block: a fixture server
 * with `options` (e.g. its `files`), started before each test, closed
 * after it with every pool and client the test made.
 */
export function usePoolFixture(options: FixtureOptions = {}): PoolFixture {
  let server: FixtureServer | undefined;
  let trap: EscapeTrap | undefined;
  let baseline = new Map<string, number>();
  const pools: FtpPool[] = [];
  const made: FTP[] = [];

  const fixture: PoolFixture = {
    get server(): FixtureServer {
      if (!server) throw new Error("the pool fixture's server runs only inside a test");
      return server;
    },
    made,
    gate: undefined,
    poolOf(size, clientOptions = {}) {
      const pool = new FtpPool({
        size,
        connect: async () => {
          if (fixture.gate) await fixture.gate;
          const client = await FTP.create({
            ...clientOptions,
            host: fixture.server.host,
            port: fixture.server.port,
            user: "user",
            password: "pass",
          });
          made.push(client);
          return client;
        },
      });
      pools.push(pool);
      return pool;
    },
    hold(pool) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let started!: (client: FTP) => void;
      const running = new Promise<FTP>((resolve) => (started = resolve));
      const done = pool.use(async (client) => {
        started(client);
        await released;
        return "held";
      });
      done.catch(() => undefined);
      return { started: running, release, done };
    },
    async expectNoLeaks() {
      const gone = () => fixture.server.openConnections() === 0 && excess(baseline, handleCounts()).length === 0;
      await until(gone);
      await settleIo();
      expect(fixture.server.openConnections(), "server-side connections left open").to.equal(0);
      expect(excess(baseline, handleCounts()), "open handles beyond the baseline").to.deep.equal([]);
      expect(trap?.escaped.map(String), "uncaught exceptions / unhandled rejections").to.deep.equal([]);
    },
  };

  beforeEach(async () => {
    fixture.gate = undefined;
    server = await FixtureServer.start(options);
    trap = new EscapeTrap();
    baseline = handleCounts();
  });

  afterEach(async () => {
    trap?.release();
    for (const pool of pools.splice(0)) await pool.close({ timeout: 0 });
    for (const client of made.splice(0)) client.close();
    await server?.close();
    server = undefined;
  });

  return fixture;
}
