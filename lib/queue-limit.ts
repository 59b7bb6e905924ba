/**
 * A cap on the connections to one FTP server across every worker process
 * of a cluster, held in Redis: each open connection holds a lease (a
 * member of a sorted set per server, scored by its expiry), taken before
 * the connection is made and given back when it is closed. A living
 * worker renews its leases; a worker that was killed stops renewing, and
 * its leases lapse after `ttlMs`, so a crash never lowers the cap for good.
 *
 * A lease lapses for a living worker too when its renewals do not get
 * through in time (Redis unreachable or slow, the event loop blocked), and
 * another worker may then take it: so a lease is trusted only as long as
 * it surely lives. Each lease knows, on this process's monotonic clock,
 * when the last ACQUIRE or RENEW that kept it was sent; Redis, which ran
 * it later, keeps the lease at least `ttlMs` from then. Once less than a
 * third of `ttlMs` of that is left, or Redis answers a RENEW that it no
 * longer holds the lease, the lease is given up and its connection closed
 * (one still being made is closed as soon as it is made). A process
 * stalled longer than that cannot close anything; it closes those
 * connections when its timer runs again.
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
import { FtpClosedError } from "./errors.js";

/** What the leases need of a Redis client (ioredis has it). */
export interface LeaseRedis {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export interface ConnectionLeasesOptions {
  /** Most connections to one server across the cluster (every worker should be given the same). */
  limit: number;
  /** Key prefix in Redis. Default "ftpstream:connections". */
  prefix?: string;
  /**
   * How long a lease lives unless renewed, in ms. Default 30000; renewed
   * every sixth of it. A lease not surely renewed for two thirds of it is
   * given up and its connection closed (see the module's comment).
   */
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

/**
 * KEYS[1] the server's set; ARGV ttl, tokens... Renews those still held
 * and not yet lapsed; returns the others (lost: removed, or lapsed and
 * free for anyone's ACQUIRE), which it removes.
 */
const RENEW = `${NOW}
local lost = {}
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > now then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
  else
    if score then redis.call('ZREM', KEYS[1], ARGV[i]) end
    lost[#lost + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return lost`;

const RELEASE = "redis.call('ZREM', KEYS[1], ARGV[1]) return 1";

/** A connection under a lease: an FTP client (its `closed` flag, and close() to end it at once). */
export interface LeasedConnection {
  readonly closed: boolean;
  close(): void;
}

interface Lease {
  server: string;
  token: string;
  /** The connection it is for, once made. */
  client?: LeasedConnection;
  /**
   * Until when Redis surely holds it, on this process's monotonic clock
   * (performance.now()): when the last ACQUIRE or RENEW that kept it was
   * sent, plus ttlMs.
   */
  validUntil: number;
  /** Given up (see lose()): a connection still being made under it is closed once made. */
  lost?: boolean;
}

/** Cluster-wide connection leases per server; see the module's comment. */
export class ConnectionLeases {
  private readonly limit: number;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly pollMs: number;
  /** A lease with less than this left (ms) is given up: a third of ttlMs. */
  private readonly marginMs: number;
  private readonly held = new Set<Lease>();
  /** wrap() calls under way (a lease being taken, a connection being made): close() waits for them. */
  private readonly making = new Set<Promise<unknown>>();
  private readonly timer: NodeJS.Timeout;
  private renewing = false;
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
    this.marginMs = Math.floor(this.ttlMs / 3);
    // Every sixth of ttlMs: a lease renewed then is given up only after about three renewals in a row failed.
    this.timer = setInterval(() => this.tick(), Math.max(10, Math.floor(this.ttlMs / 6)));
    this.timer.unref();
  }

  /**
   * Wraps a connect function: a lease for `server` (a key naming it, no
   * password) is taken first, waiting while the cluster holds `limit`, and
   * given back when the connect fails or, later, once the client is closed
   * (seen at the next renewal, or at sweep()). When the lease cannot be
   * renewed in time (see the module's comment) the client is closed; a
   * client made after its lease was given up, or after close(), is closed
   * at once and the call rejects with FtpClosedError.
   */
  wrap<T extends LeasedConnection>(server: string, connect: () => Promise<T>): () => Promise<T> {
    return () => {
      const made = this.connectUnderLease(server, connect);
      this.making.add(made);
      const forget = (): void => void this.making.delete(made);
      made.then(forget, forget);
      return made;
    };
  }

  private async connectUnderLease<T extends LeasedConnection>(server: string, connect: () => Promise<T>): Promise<T> {
    const lease = await this.acquire(server);
    let client: T;
    try {
      client = await connect();
    } catch (error) {
      await this.release(lease);
      throw error;
    }
    if (lease.lost || this.closed) {
      // Its lease was given up while it connected (or the leases closed): it must not stay open.
      client.close();
      await this.release(lease).catch(() => undefined);
      throw new FtpClosedError(
        this.closed ? "the connection leases are closed" : `the lease for a connection to ${server} was not renewed in time`,
      );
    }
    lease.client = client;
    return client;
  }

  /** Connections this process holds leases for, per server. */
  count(server: string): number {
    return [...this.held].filter((lease) => lease.server === server).length;
  }

  private key(server: string): string {
    return `${this.prefix}:${server}`;
  }

  private async acquire(server: string): Promise<Lease> {
    const lease: Lease = { server, token: randomUUID(), validUntil: 0 };
    for (;;) {
      if (this.closed) throw new FtpClosedError("the connection leases are closed");
      // A process with no connection to the server asks the others to hand one back (see handBack).
      const signal = this.count(server) === 0 ? "1" : "0";
      const sent = performance.now();
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
        lease.validUntil = sent + this.ttlMs;
        // Closed meanwhile, or the answer came so late that the lease is already near its end: not to connect under.
        if (this.closed || lease.validUntil - performance.now() <= this.marginMs) {
          await this.release(lease);
          continue;
        }
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

  /**
   * The timer: first (whatever Redis does) gives up the leases that may
   * lapse before they are surely renewed, then renews the others, unless
   * the last renewal is still waiting for Redis.
   */
  private tick(): void {
    const now = performance.now();
    for (const lease of [...this.held]) if (lease.validUntil - now <= this.marginMs) this.lose(lease);
    if (this.renewing) return;
    this.renewing = true;
    this.renew()
      .catch(() => undefined)
      .finally(() => (this.renewing = false));
  }

  /** Gives back the leases of closed clients, and renews the others; a lease Redis no longer holds is given up. */
  private async renew(): Promise<void> {
    const byServer = new Map<string, Lease[]>();
    for (const lease of [...this.held]) {
      if (lease.client?.closed) {
        await this.release(lease);
        continue;
      }
      byServer.set(lease.server, [...(byServer.get(lease.server) ?? []), lease]);
    }
    for (const [server, leases] of byServer) {
      const sent = performance.now();
      const lost = await this.redis.eval(RENEW, 1, this.key(server), this.ttlMs, ...leases.map((lease) => lease.token));
      // Anything but the list of lost tokens renews nothing: the leases keep the time they had.
      if (!Array.isArray(lost)) continue;
      const gone = new Set(lost.map(String));
      for (const lease of leases) {
        if (!this.held.has(lease)) continue;
        if (gone.has(lease.token)) this.lose(lease);
        else lease.validUntil = Math.max(lease.validUntil, sent + this.ttlMs);
      }
    }
  }

  /**
   * Gives up a lease that Redis may no longer hold, or soon not: its
   * client is closed now and the lease given back; a connection still
   * being made under it is closed when made (see connectUnderLease), and
   * the lease is left to lapse until then.
   */
  private lose(lease: Lease): void {
    if (!this.held.delete(lease)) return;
    lease.lost = true;
    if (!lease.client) return;
    lease.client.close();
    void this.redis.eval(RELEASE, 1, this.key(lease.server), lease.token).catch(() => undefined);
  }

  /**
   * Stops taking leases and gives back every lease this process holds.
   * Call it after closing the connections: a lease being taken or a
   * connection being made is waited for (still renewed meanwhile) and
   * closed once made, and a client still open is closed before its lease
   * goes back, so no connection outlives its lease.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.making]);
    clearInterval(this.timer);
    for (const lease of [...this.held]) {
      if (lease.client && !lease.client.closed) lease.client.close();
      await this.release(lease).catch(() => undefined);
    }
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
