/**
 * Keepalive for an idle client (the `keepAlive` option): a NOOP once the
 * command queue has been idle for the given time, so neither the server's
 * idle timeout nor a NAT or firewall that forgets quiet connections ends
 * the session, and a dead connection is found (the NOOP fails, which closes
 * the client; under `retry` the client stays open and its next call
 * reconnects) before the next real command needs it.
 */
import { setLongTimeout, type LongTimer } from "./long-timer.js";

/** What the keepalive needs to know of a client. */
export interface KeepAliveTarget {
  /** `idle`: connected, nothing holds or waits for the queue; `busy`: something does; `down`: not connected. */
  state(): "idle" | "busy" | "down";
  /** Queues a NOOP on the open connection; its failure is the client's to handle (a dead connection closes it, unless under `retry`). */
  ping(): Promise<unknown>;
}

/**
 * Calls `ping` once the client has been idle for `intervalMs`: the wait
 * starts again after each activity ends (`touch()`), and while the client
 * is busy it only looks again later. The timer never keeps the process alive.
 */
export class IdleKeepAlive {
  private timer: LongTimer | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly target: KeepAliveTarget,
  ) {}

  /** An activity on the queue ended: the idle time starts now. */
  readonly touch = (): void => {
    if (this.stopped) return;
    this.timer?.clear();
    // Not setTimeout: an interval past what it holds (2 ** 31 ms and more) would send a NOOP every millisecond.
    this.timer = setLongTimeout(this.fire, this.intervalMs, true);
  };

  /** No more NOOPs (the client was closed). Idempotent. */
  stop(): void {
    this.stopped = true;
    this.timer?.clear();
    this.timer = undefined;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    switch (this.target.state()) {
      case "down":
        // A later connect() is an activity, and touches again.
        return;
      case "busy":
        this.touch();
        return;
      case "idle":
        // The NOOP's own end touches again, through the queue like any call.
        this.target.ping().catch(() => undefined);
    }
  };
}

/** Throws unless `ms` is undefined or a positive number of milliseconds. */
export function assertKeepAlive(ms: number | undefined): void {
  if (ms === undefined) return;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`keepAlive must be a positive number of milliseconds, got ${String(ms)}`);
  }
}

/**
 * FTP's method for an FtpPool: undefined while nothing is queued on the
 * client or running, else a promise that settles once every call queued
 * so far has. A task that ended with work of its still on the client (a
 * download it never read to its end) has its client kept back until then
 * (see FtpPool).
 * @internal
 */
export const QUEUE_SETTLED: unique symbol = Symbol("ftpstream.queueSettled");
