/**
 * Issue 25: the cluster-wide cap on connections to one server, as leases
 * in a real redis-server. Three ConnectionLeases stand for three worker
 * processes.
 *
 * A connection never stays open without a live lease: the specs below
 * drive the interleavings where it could (renewals that do not get
 * through, a worker stalled while its lease lapses and another takes it,
 * close() while a connection is being made). The leases' own clock is
 * sinon's (setInterval and performance.now), moved by hand; Redis's clock
 * is real, and no lease lapses there unless a spec waits for it.
 */
import { expect } from "chai";
import { Redis } from "ioredis";
import sinon from "sinon";
import { ConnectionLeases, FtpClosedError, type LeaseRedis } from "../../lib/index.js";
import { IN_CI } from "../interop/describe-server.js";
import { findRedis, startRedis, type RedisServer } from "./redis-server.js";

/** A stand-in for an FTP client: only its `closed` flag and close() matter to the leases. */
class FakeClient {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

/**
 * The Redis client as the leases see it: calls go through to `redis` in
 * order, or while `hold` is set wait (Redis not answering) until it is
 * cleared. `settled()` resolves once every call made so far has its answer.
 */
class HeldRedis implements LeaseRedis {
  hold = false;
  private readonly waiting: Array<() => void> = [];
  private readonly calls: Array<Promise<unknown>> = [];

  constructor(private readonly redis: Redis) {}

  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown> {
    const call = (this.hold ? new Promise<void>((resolve) => this.waiting.push(resolve)) : Promise.resolve()).then(() =>
      this.redis.eval(script, numKeys, ...args),
    );
    this.calls.push(call.catch(() => undefined));
    return call;
  }

  answer(): void {
    this.hold = false;
    for (const go of this.waiting.splice(0)) go();
  }

  async settled(): Promise<void> {
    await Promise.all(this.calls);
    // What the leases do with the last answer runs in the microtasks after it.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("ConnectionLeases (a Redis-held connection cap per server)", function () {
  let redis: RedisServer;
  const clients: Redis[] = [];
  const leases: ConnectionLeases[] = [];

  before(async function () {
    const found = findRedis();
    if (!found.found) {
      if (IN_CI) throw new Error(`CI=true and ${found.why}`);
      this.skip();
    }
    redis = await startRedis();
  });

  after(async function () {
    for (const lease of leases) await lease.close().catch(() => undefined);
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  it("never lets three processes hold more than the limit, and a closed client's lease goes to a waiting one", async function () {
    const client = new Redis({ host: "127.0.0.1", port: redis.port });
    clients.push(client);
    const shared = { prefix: "shared", limit: 2, ttlMs: 600, pollMs: 20 };
    const three = [0, 1, 2].map(() => new ConnectionLeases(client as unknown as LeaseRedis, shared));
    leases.push(...three);
    let open = 0;
    let most = 0;
    const made: FakeClient[] = [];
    const connect = async (): Promise<FakeClient> => {
      open++;
      most = Math.max(most, open);
      const fake = new FakeClient();
      made.push(fake);
      return fake;
    };
    const first = await Promise.all([three[0].wrap("s", connect)(), three[1].wrap("s", connect)()]);
    let third: FakeClient | undefined;
    const waiting = three[2]
      .wrap("s", connect)()
      .then((c) => (third = c));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(third, "the third waits while two are held").to.equal(undefined);
    expect(await three[0].handBack("s"), "a holder is asked to hand one back").to.equal(true);
    first[0].closed = true;
    open--;
    await three[0].sweep();
    await waiting;
    expect(third).to.be.instanceOf(FakeClient);
    expect(most).to.equal(2);
  });

  it("lets the leases of a killed process lapse after ttlMs, so a crash does not lower the cap for good", async function () {
    const client = new Redis({ host: "127.0.0.1", port: redis.port });
    clients.push(client);
    const options = { prefix: "crash", limit: 1, ttlMs: 300, pollMs: 20 };
    const killed = new ConnectionLeases(client, options);
    await killed.wrap("s", async () => new FakeClient())();
    // Killed: it stops renewing (its timer is gone) and gives nothing back.
    clearInterval((killed as unknown as { timer: NodeJS.Timeout }).timer);
    const other = new ConnectionLeases(client, options);
    leases.push(other);
    const started = Date.now();
    await other.wrap("s", async () => new FakeClient())();
    expect(Date.now() - started).to.be.within(150, 2000);
  });

  describe("a connection never stays open without a live lease", () => {
    let clock: sinon.SinonFakeTimers | undefined;
    const helds: HeldRedis[] = [];

    afterEach(() => {
      clock?.uninstall();
      clock = undefined;
      // A spec that failed while Redis was held must not leave the leases' close() waiting in after().
      for (const held of helds.splice(0)) held.answer();
    });

    /** The leases' clock (their renewal timer and performance.now) is sinon's from here on; Redis's stays real. */
    function fakeClock(): sinon.SinonFakeTimers {
      clock = sinon.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
      return clock;
    }

    function redisClient(): Redis {
      const client = new Redis({ host: "127.0.0.1", port: redis.port });
      clients.push(client);
      return client;
    }

    function heldRedis(real: Redis): HeldRedis {
      const held = new HeldRedis(real);
      helds.push(held);
      return held;
    }

    it("closes a connection whose renewals Redis does not answer, while its lease surely still lives", async function () {
      const real = redisClient();
      const held = heldRedis(real);
      const time = fakeClock();
      // 60 s of Redis's time: the lease cannot lapse there while the spec runs.
      const stalled = new ConnectionLeases(held, { prefix: "unanswered", limit: 1, ttlMs: 60_000 });
      leases.push(stalled);
      const client = await stalled.wrap("s", async () => new FakeClient())();
      held.hold = true;
      // Renewals sent every 10 s, none answered: the lease is known to live until 60 s.
      time.tick(30_000);
      expect(client.closed, "open while 30 s of its lease are sure").to.equal(false);
      time.tick(10_000);
      expect(client.closed, "closed with 20 s of its lease left").to.equal(true);
      expect(stalled.count("s")).to.equal(0);
      // Redis answers again: the lease given up is given back (no waiting out its 60 s).
      held.answer();
      await held.settled();
      expect(await real.zcard("unanswered:s")).to.equal(0);
    });

    it("closes a connection made after its lease was given up, and the wrapped connect rejects", async function () {
      const real = redisClient();
      const held = heldRedis(real);
      const time = fakeClock();
      const slow = new ConnectionLeases(held, { prefix: "late", limit: 1, ttlMs: 60_000 });
      leases.push(slow);
      let made!: (client: FakeClient) => void;
      const connecting = slow.wrap("s", () => new Promise<FakeClient>((resolve) => (made = resolve)))();
      while (!made) await new Promise((resolve) => setImmediate(resolve));
      held.hold = true;
      time.tick(40_000);
      expect(slow.count("s"), "given up while its connection was being made").to.equal(0);
      const client = new FakeClient();
      made(client);
      await new Promise((resolve) => setImmediate(resolve));
      expect(client.closed, "closed as soon as it is made").to.equal(true);
      held.answer();
      expect(
        await connecting.then(
          () => undefined,
          (e: unknown) => e,
        ),
      ).to.be.instanceOf(FtpClosedError);
      await held.settled();
      expect(await real.zcard("late:s")).to.equal(0);
    });

    it("closes the connection of a worker stalled while its lease lapsed and another worker took it, at its first renewal", async function () {
      const real = redisClient();
      const held = heldRedis(real);
      const time = fakeClock();
      const options = { prefix: "lapsed", limit: 1, ttlMs: 300, pollMs: 20 };
      const stalled = new ConnectionLeases(held, options);
      const other = new ConnectionLeases(real, options);
      leases.push(stalled, other);
      const client = await stalled.wrap("s", async () => new FakeClient())();
      // The stalled worker's timers do not run (its clock stands) while Redis's 300 ms pass:
      // its lease lapses, and the other worker (polling on real timers) takes the place.
      const taken = await other.wrap("s", async () => new FakeClient())();
      expect(taken.closed).to.equal(false);
      expect(client.closed, "nothing has run in the stalled worker yet").to.equal(false);
      // It runs again: one renewal period later (too soon for its own clock to give the lease up),
      // Redis answers that it no longer holds the lease.
      time.tick(50);
      await held.settled();
      expect(client.closed).to.equal(true);
      expect(stalled.count("s")).to.equal(0);
      expect(await real.zrange("lapsed:s", 0, -1)).to.have.length(1);
    });

    it("close() waits for a connection being made, closes it, then gives its lease back", async function () {
      const real = redisClient();
      const closing = new ConnectionLeases(real, { prefix: "closing", limit: 1, ttlMs: 60_000 });
      leases.push(closing);
      let made!: (client: FakeClient) => void;
      const connecting = closing.wrap("s", () => new Promise<FakeClient>((resolve) => (made = resolve)))();
      while (!made) await new Promise((resolve) => setImmediate(resolve));
      let closed = false;
      const done = closing.close().then(() => (closed = true));
      // Asked after close() started (one connection, commands in order): the lease is still held.
      expect(await real.zcard("closing:s")).to.equal(1);
      expect(closed).to.equal(false);
      const client = new FakeClient();
      made(client);
      expect(
        await connecting.then(
          () => undefined,
          (e: unknown) => e,
        ),
      ).to.be.instanceOf(FtpClosedError);
      await done;
      expect(client.closed).to.equal(true);
      expect(await real.zcard("closing:s")).to.equal(0);
    });
  });
});
