/**
 * A cap on the connections to one FTP server across every worker process
 * of a cluster, held in Redis: each open connection holds a lease (a
 * member of a sorted set per server, scored by its expiry), taken before
 * the connection is made and given back when it is closed. A living
 * worker renews its leases; a worker that was killed stops renewing, and
 * its leases lapse after `ttlMs`, so a crash never lowers the cap for good.
 *
 * Why leases in Redis and not the queue's own features: BullMQ's global
 * concurrency and rate limiter count jobs, per queue, while a server's
 * limit counts open connections, and a worker's pool keeps connections
 * open between jobs; per-group limits are BullMQ Pro's. A lease per
 * connection caps exactly what the server counts, whatever queue the jobs
 * came from.
 *
 * The Redis client is the caller's (ioredis's `eval` shape): this module
 * loads nothing.
 */
import { randomUUID } from "node:crypto";

/** What the leases need of a Redis client (ioredis has it). */
export interface LeaseRedis {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export interface ConnectionLeasesOptions {
  /** Most connections to one server across the cluster (every worker should be given the same). */
  limit: number;
  /** Key prefix in Redis. Default "ftpstream:connections". */
  prefix?: string;
  /** How long a lease lives unless renewed, in ms. Default 30000; renewed every third of it. */
  ttlMs?: number;
  /** How often a connect waiting for a lease asks again, in ms. Default 200. */
  pollMs?: number;
}

// Times come from Redis (TIME), so the workers' clocks need not agree.
const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/**
 * KEYS[1] the server's set, KEYS[2] its "wanted" flag; ARGV ttl, limit,
 * token, whether to raise the flag on a refusal. 1 when the lease is taken.
 */
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
  return 1
end
if ARGV[4] == '1' then redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[1])) end
return 0`;

/** KEYS[1] the server's set; ARGV ttl, tokens... Renews those still held. */
const RENEW = `${NOW}
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1`;

const RELEASE = "redis.call('ZREM', KEYS[1], ARGV[1]) return 1";

/** Something with a `closed` flag: an FTP client. */
interface Closable {
  readonly closed: boolean;
}

interface Lease {
  server: string;
  token: string;
  /** The connection it is for, once made. */
  client?: Closable;
}

/** Cluster-wide connection leases per server; see the module's comment. */
export class ConnectionLeases {
  private readonly limit: number;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly pollMs: number;
  private readonly held = new Set<Lease>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly redis: LeaseRedis,
    options: ConnectionLeasesOptions,
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${options.limit}`);
    this.limit = options.limit;
    this.prefix = options.prefix ?? "ftpstream:connections";
    this.ttlMs = options.ttlMs ?? 30_000;
    this.pollMs = options.pollMs ?? 200;
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /**
   * Wraps a connect function: a lease for `server` (a key naming it, no
   * password) is taken first, waiting while the cluster holds `limit`, and
   * given back when the connect fails or, later, once the client is closed
   * (seen at the next renewal).
   */
  wrap<T extends Closable>(server: string, connect: () => Promise<T>): () => Promise<T> {
    return async () => {
      const lease = await this.acquire(server);
      try {
        const client = await connect();
        lease.client = client;
        return client;
      } catch (error) {
        await this.release(lease);
        throw error;
      }
    };
  }

  /** Connections this process holds leases for, per server. */
  count(server: string): number {
    return [...this.held].filter((lease) => lease.server === server).length;
  }

  private key(server: string): string {
    return `${this.prefix}:${server}`;
  }

  private async acquire(server: string): Promise<Lease> {
    const lease: Lease = { server, token: randomUUID() };
    for (;;) {
      if (this.closed) throw new Error("the connection leases are closed");
      // A process with no connection to the server asks the others to hand one back (see handBack).
      const signal = this.count(server) === 0 ? "1" : "0";
      const got = await this.redis.eval(
        ACQUIRE,
        2,
        this.key(server),
        `${this.key(server)}:wanted`,
        this.ttlMs,
        this.limit,
        lease.token,
        signal,
      );
      if (Number(got) === 1) {
        this.held.add(lease);
        return lease;
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  private async release(lease: Lease): Promise<void> {
    this.held.delete(lease);
    await this.redis.eval(RELEASE, 1, this.key(lease.server), lease.token);
  }

  /** Gives back the leases of closed clients, and renews the others. */
  private async renew(): Promise<void> {
    const byServer = new Map<string, string[]>();
    for (const lease of [...this.held]) {
      if (lease.client?.closed) {
        await this.release(lease);
        continue;
      }
      byServer.set(lease.server, [...(byServer.get(lease.server) ?? []), lease.token]);
    }
    for (const [server, tokens] of byServer) await this.redis.eval(RENEW, 1, this.key(server), this.ttlMs, ...tokens);
  }

  /** Gives back every lease this process holds (call after closing its connections) and stops renewing. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const lease of [...this.held]) await this.release(lease).catch(() => undefined);
  }

  /**
   * Whether this process should hand a connection to `server` back now: a
   * process holding none is waiting for a lease. True for one caller per
   * such wait (the flag is taken), and only while this process holds one;
   * the caller closes a connection, and sweep() gives its lease back. So
   * every worker gets a connection even when the cap is below the workers'
   * concurrency, instead of waiting until the others' pools go idle.
   */
  async handBack(server: string): Promise<boolean> {
    if (this.count(server) === 0) return false;
    return (await this.redis.eval("return redis.call('GETDEL', KEYS[1])", 1, `${this.key(server)}:wanted`)) !== null;
  }

  /** Gives back the leases of clients now closed (a pool was closed), without waiting for the next renewal. */
  async sweep(): Promise<void> {
    for (const lease of [...this.held]) if (lease.client?.closed) await this.release(lease).catch(() => undefined);
  }
}
