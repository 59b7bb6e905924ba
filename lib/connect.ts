/**
 * Waiting for a TCP connect with a deadline, for the control and the data
 * connections alike: resolves once connected, or destroys the socket and
 * rejects with FtpConnectionError (refused, unreachable) or FtpTimeoutError.
 */
import * as net from "node:net";
import { FtpConnectionError, FtpTimeoutError } from "./errors.js";

/** What a {@link CreateConnection} function is asked to connect to. */
export interface ConnectionRequest {
  /** The FTP server's host as the client was given it (control), or the host for a passive data connection. */
  host: string;
  port: number;
  /** Local address to bind (the `sourceAddress` option), if any. */
  localAddress?: string;
  localPort?: number;
  /** Which connection this is. */
  purpose: "control" | "data";
}

/**
 * Makes the socket for a control or data connection in place of
 * `net.connect` (as `createConnection` of Node's `http.Agent`): a socket
 * tunnelled through a SOCKS5 or HTTP CONNECT proxy, say. It may return the
 * socket at once (still connecting) or a promise of one that is connected.
 */
export type CreateConnection = (request: ConnectionRequest) => net.Socket | Promise<net.Socket>;

/**
 * A connected socket from `create`, within the deadline. A socket still
 * connecting is waited for; one that comes connected (a tunnel) is used as
 * it is. Aborting `wait.signal` destroys whatever socket `create` makes,
 * now or later.
 */
export async function openCustomConnection(create: CreateConnection, request: ConnectionRequest, wait: ConnectWait): Promise<net.Socket> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const made = Promise.resolve().then(() => create(request));
  const expired = new Promise<never>((_, reject) => {
    if (wait.timeout > 0)
      timer = setTimeout(() => {
        const error = new FtpTimeoutError(wait.timedOut);
        wait.onTimeout?.(error);
        reject(error);
      }, wait.timeout);
  });
  const aborted = new Promise<never>((_, reject) => {
    const signal = wait.signal;
    if (!signal) return;
    onAbort = () => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  let socket: net.Socket;
  try {
    socket = await Promise.race([made, expired, aborted]);
  } catch (error) {
    // A socket made after the deadline or the abort has nobody to close it but us.
    made.then(
      (late) => late.destroy(),
      () => undefined,
    );
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    throw error instanceof FtpTimeoutError ? error : new FtpConnectionError(wait.refused, error);
  } finally {
    clearTimeout(timer);
    if (onAbort) wait.signal?.removeEventListener("abort", onAbort);
  }
  if (!(socket instanceof net.Socket)) throw new TypeError("createConnection must return a net.Socket (or a promise of one)");
  return socket.connecting ? whenConnected(socket, wait) : socket;
}

export interface ConnectWait {
  /** Milliseconds to wait; 0 = no deadline. */
  timeout: number;
  /** Message of the FtpConnectionError when the connect fails. */
  refused: string;
  /** Message of the FtpTimeoutError when the deadline passes. */
  timedOut: string;
  /** Runs when the deadline passes, before the rejection (e.g. to close the client). */
  onTimeout?: (error: FtpTimeoutError) => void;
  /**
   * Watches the deadline with this one timer (shared by the connects of a
   * session) instead of a timer of the connect's own.
   */
  deadlines?: SharedDeadlines;
  /**
   * Aborted by the socket's owner when it closes during the connect: the
   * socket is destroyed at once, not left connecting (and, once
   * connected, open) with nobody to close it; the wait rejects with the
   * signal's reason.
   */
  signal?: AbortSignal;
}

/** Why `signal` was aborted, as an Error. */
function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new FtpConnectionError("the connect was abandoned");
}

export function whenConnected(socket: net.Socket, wait: ConnectWait): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let deadline: Deadline | undefined;
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      deadline?.cancel();
      socket.removeListener("connect", onConnect);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
      signal?.removeEventListener("abort", onAbort);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        resolve(socket);
      }
    };
    const onConnect = (): void => settle();
    const signal = wait.signal;
    const onAbort = (): void => settle(signal ? abortReason(signal) : undefined);
    const onError = (error: Error): void => settle(new FtpConnectionError(wait.refused, error));
    // Destroyed by its owner before it connected (a transfer refused before
    // its data connection was up): nothing to wait for, and the deadline
    // must not fire later and close a client that has moved on.
    const onClose = (): void => settle(new FtpConnectionError(`${wait.refused}: closed before it connected`));
    // on(), not once(): the first of them settles, which takes all three
    // off, so once()'s wrapper (an object and a bound function each) would
    // only be made and dropped on every connect.
    socket.on("connect", onConnect);
    socket.on("error", onError);
    socket.on("close", onClose);
    if (signal?.aborted) {
      settle(abortReason(signal));
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    if (wait.timeout > 0) {
      const expire = (): void => {
        const error = new FtpTimeoutError(wait.timedOut);
        wait.onTimeout?.(error);
        settle(error);
      };
      if (wait.deadlines) deadline = wait.deadlines.add(wait.timeout, expire);
      else timer = setTimeout(expire, wait.timeout);
    }
  });
}

/** One deadline of SharedDeadlines: `expire` runs at `due` (performance.now()) unless cancelled first. */
class Deadline {
  constructor(
    private readonly owner: SharedDeadlines,
    readonly due: number,
    readonly expire: () => void,
  ) {}

  cancel(): void {
    this.owner.cancel(this);
  }
}

/**
 * One timer for the connect deadlines of a session's data connections,
 * made one after another: a timer already pending serves every deadline
 * after it, and when it fires before one is due it is set again for what
 * is left (as the control connection's reply timer). A timer per connect
 * (setTimeout, then clearTimeout once connected: a Timeout object, a call
 * into libuv for the time and the timer list's insert per file) was one
 * of the two timers each small file armed. A deadline still expires at
 * its due time, not later. The timer does not keep the process alive:
 * the socket being connected does.
 */
export class SharedDeadlines {
  private readonly pending = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (performance.now()), while it is pending. */
  private timerDue = 0;

  /** Runs `expire` in `ms` (> 0) milliseconds, unless the returned deadline is cancelled first. */
  add(ms: number, expire: () => void): Deadline {
    const deadline = new Deadline(this, performance.now() + ms, expire);
    this.pending.add(deadline);
    if (!this.timer || this.timerDue > deadline.due) this.arm(ms);
    return deadline;
  }

  cancel(deadline: Deadline): void {
    this.pending.delete(deadline);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.timerDue = performance.now() + ms;
    this.timer = setTimeout(this.fire, ms);
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const deadline of [...this.pending]) {
      // Expired by an earlier one's expire() (which may close a client and its connects): gone from the set.
      if (!this.pending.has(deadline)) continue;
      if (deadline.due <= now) {
        this.pending.delete(deadline);
        deadline.expire();
      } else if (deadline.due < next) next = deadline.due;
    }
    if (next !== Infinity && !this.timer) this.arm(next - now);
  };
}
