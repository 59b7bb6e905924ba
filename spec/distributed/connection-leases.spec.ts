/**
 * Issue 25: the cluster-wide cap on connections to one server, as leases
 * in a real redis-server. Three ConnectionLeases stand for three worker
 * processes.
 */
import { expect } from "chai";
import { Redis } from "ioredis";
import { ConnectionLeases, type LeaseRedis } from "../../lib/index.js";
import { IN_CI } from "../interop/describe-server.js";
import { findRedis, startRedis, type RedisServer } from "./redis-server.js";

/** A stand-in for an FTP client: only its `closed` flag matters to the leases. */
class FakeClient {
  closed = false;
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
});
