/**
 * Reconnecting under the `retry` option: the loop that runs a queued task
 * on a live connection (opening a new one first when the old one is gone)
 * and runs it again after a transient failure when that is safe; and the
 * record of what the session set (login, directory, TYPE) so a new
 * connection can be put back in the same state.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { asError } from "./as-error.js";
import { FtpReplyError } from "./errors.js";
import { setLongTimeout } from "./long-timer.js";
import { parse257 } from "./protocol.js";
import type { Reply } from "./reply.js";
import { isServiceClosing, isTransient, RetryEvent, RetryPolicy } from "./retry.js";
import { isSecurityFailure } from "./security-verbs.js";
import type { Session } from "./session.js";

/** What the client does for the Reconnector. */
export interface ReconnectHooks {
  /** The session if its connection is still open, else undefined. */
  live(): Session | undefined;
  /** Opens a new connection, logs in and restores the session; resolves to the new session. */
  reopen(): Promise<Session>;
  /** Closes the current connection (after a 421, before the server does). */
  drop(error: Error): void;
  /** Shows a retry: debug output and the client's `'retry'` event. */
  report(event: RetryEvent): void;
  /** A new connection could not be made, or not restored, in the attempts allowed; or TLS refused the server. */
  giveUp(error: unknown): void;
}

/**
 * What an FtpPool is to the clients its `connect` function makes, while it
 * waits for them. Found through the async context of that call
 * ({@link poolConnect}), so the user's connect code passes nothing on.
 */
export interface PoolConnect {
  /** Told of each Reconnector made in the call: the pool abandons it when it closes first. */
  adopt(reconnector: Reconnector): void;
  /**
   * Told of each client made in the call, with what closes it: the pool
   * closes it when it closes first (a client still connecting, or waiting
   * for a welcome that never comes, would otherwise keep the process alive
   * until its timeout, for ever with `timeout: 0`).
   */
  adoptClient(close: () => void): void;
  /** Whether the pool deals with `error` itself (a connection-limit refusal while it has other clients): then it is not retried. */
  handles(error: unknown): boolean;
}

/** Set by FtpPool around each call of its `connect` function (see PoolConnect). */
export const poolConnect = new AsyncLocalStorage<PoolConnect>();

export class Reconnector {
  /** Set by stop(): the client was closed or is quitting, and nothing may connect for it again. */
  private stopped: Error | undefined;
  /** Cancels each backoff wait in progress (see wait()). */
  private readonly waits = new Set<(reason: Error) => void>();
  /** A new connection is being made for a retry (a reconnect, or a first connect tried again): stop() closes it. */
  private reconnecting = false;
  /** The pool whose `connect` function is making this client, if one is (see PoolConnect). */
  private readonly pool = poolConnect.getStore();
  /**
   * Connections lost by a failed attempt (the call failed and the
   * connection is gone, or closing after a 421), or that a retry failed to
   * open, so far: what the retry absorbed included. A connection found
   * gone when a call starts (a server's idle timeout) is not counted: no
   * call failed on it. An FtpPool's tree transfer counts them (see
   * pool-losses.ts), as the client itself stays open.
   */
  private lost = 0;

  constructor(
    readonly policy: RetryPolicy,
    private readonly hooks: ReconnectHooks,
  ) {
    this.pool?.adopt(this);
  }

  /**
   * Runs `task` with a live session: reconnects first when the connection
   * is gone. A transient failure (see isTransient) is tried again, after a
   * backoff delay and on a new connection if the old one is gone, when
   * `repeat` is true or the task had not started; up to the policy's
   * attempts. Anything else rejects with the task's own error.
   */
  async run<T>(task: (session: Session) => Promise<T>, repeat: boolean): Promise<T> {
    return this.attempts(async (attempt, start) => {
      const session = this.hooks.live() ?? (await this.reopen(attempt));
      start();
      return task(session);
    }, repeat);
  }

  /**
   * The client was closed, or is quitting: nothing reconnects from now on.
   * A backoff wait in progress ends at once and a connection being made
   * for a retry is closed, their calls rejecting with `reason`; a call
   * that fails from now on is not tried again (it rejects with its own
   * error); a call that needs a new connection rejects with `reason`. A
   * call on the connection still open runs there, once.
   */
  stop(reason: Error): void {
    this.stopped ??= reason;
    for (const cancel of this.waits) cancel(this.stopped);
    this.waits.clear();
    if (this.reconnecting) this.hooks.drop(this.stopped);
  }

  /**
   * stop(), and the connection closed whatever it is doing: the pool that
   * was making this client closed, so the client is nobody's.
   */
  abandon(reason: Error): void {
    this.stop(reason);
    this.hooks.drop(reason);
  }

  /** How many connections were lost by failed attempts so far (see `lost`): only ever grows. */
  get lostConnections(): number {
    return this.lost;
  }

  /** Runs `open` (the first connect), again after a transient failure; not at all once stopped. */
  connect<T>(open: () => Promise<T>): Promise<T> {
    return this.attempts(async (attempt) => {
      if (this.stopped) throw this.stopped;
      return attempt === 1 ? open() : this.retrying(open);
    }, true);
  }

  private async attempts<T>(action: (attempt: number, start: () => void) => Promise<T>, repeat: boolean): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let started = false;
      try {
        return await action(attempt, () => (started = true));
      } catch (error) {
        // Counted before anything below may throw: the last attempt's loss is one too. A 421 says the
        // server is closing the connection, whether or not its close has come yet.
        if (isServiceClosing(error) || !this.hooks.live()) this.lost++;
        // A refused certificate, or another failure to secure the
        // connection (a 234 to AUTH TLS and no TLS after it, PBSZ or PROT P
        // refused: see isSecurityFailure), ends the client, as it would
        // without `retry`: a later call must not reconnect past it (after a
        // failed AUTH TLS, nor in the clear), and a new connection that got
        // through would hide from the user what looks like a downgrade.
        const insecure = isSecurityFailure(error);
        if (insecure) this.hooks.giveUp(error);
        // After stop() nothing is tried again. A pool's refusal is the
        // pool's to act on at once: it shrinks instead of waiting here.
        if (this.stopped || this.pool?.handles(error)) throw error;
        if ((started && !repeat) || insecure || !isTransient(error) || attempt > this.policy.attempts) throw error;
        if (isServiceClosing(error)) this.hooks.drop(error);
        const delay = this.policy.delay(attempt);
        // The 'retry' event's listener may close the client: then no wait.
        this.hooks.report({ attempt, delay, error });
        await this.wait(delay);
      }
    }
  }

  /** The backoff before the next attempt: `ms`, or until stop(), which rejects it. */
  private wait(ms: number): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      const cancel = (reason: Error): void => {
        timer.clear();
        reject(reason);
      };
      // Not setTimeout: a maxDelay past what it holds (2 ** 31 ms and more) would retry after 1 ms.
      const timer = setLongTimeout(() => {
        this.waits.delete(cancel);
        resolve();
      }, ms);
      this.waits.add(cancel);
    });
  }

  /** `open`, a new connection made for a retry: stop() meanwhile closes it. */
  private async retrying<T>(open: () => Promise<T>): Promise<T> {
    this.reconnecting = true;
    try {
      const opened = await open();
      // Stopped while the new connection logged in: it is nobody's to keep.
      if (this.stopped) {
        this.hooks.drop(this.stopped);
        throw this.stopped;
      }
      return opened;
    } finally {
      this.reconnecting = false;
    }
  }

  private async reopen(attempt: number): Promise<Session> {
    // Closed or quitting: no new connection.
    if (this.stopped) throw this.stopped;
    try {
      return await this.retrying(() => this.hooks.reopen());
    } catch (error) {
      // A connection that opened but was not put back in the old one's
      // state (AUTH TLS, the login or PROT P refused for now, a 4xx) is
      // never used as it is: the next attempt would have run the task on
      // it, in the clear, logged out, or with the server sending data in
      // the clear. It opens a new one instead.
      this.hooks.drop(asError(error));
      // The last attempt, or a failure no retry cures (a refused login):
      // the client cannot get its session back.
      if (attempt > this.policy.attempts || !isTransient(error)) this.hooks.giveUp(error);
      throw error;
    }
  }
}

/** Directory changes recorded before the session is asked PWD to replace them with the one directory it names (see SessionRecord). */
export const MAX_REPLAYED_DIRS = 32;

/**
 * What a session set that a new connection must set again: the login,
 * the working directory and the TYPE. Filled in by watching the commands
 * that succeed (Session.observe), whichever public method sent them.
 */
export class SessionRecord {
  private user: string | undefined;
  private password: string | undefined;
  private acct: string | undefined;
  private loggedIn = false;
  /** CWD arguments since login, from the last absolute one; `..` for CDUP. */
  private dirs: string[] = [];
  private type: string | undefined;

  /**
   * Notes a command and its (non-error) reply. True when the session should
   * be asked where it is (PWD, see anchor()): once every MAX_REPLAYED_DIRS
   * directory changes that no absolute CWD or PWD replaced, so a client
   * that goes in and out of a directory for days keeps a bounded list.
   */
  observe(line: string, reply: Reply): boolean {
    const space = line.indexOf(" ");
    const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? "" : line.slice(space + 1);
    const done = reply.code >= 200 && reply.code < 300;
    switch (verb) {
      case "USER":
        this.user = arg;
        this.password = this.acct = undefined;
        this.loggedIn = done;
        this.dirs = [];
        break;
      case "PASS":
        this.password = arg;
        this.loggedIn = done;
        break;
      case "ACCT":
        this.acct = arg;
        this.loggedIn ||= done;
        break;
      case "REIN":
        if (done) this.loggedIn = false;
        break;
      case "CWD":
      case "XCWD":
        if (!done) break;
        if (arg.startsWith("/")) this.dirs = [arg];
        else this.dirs.push(arg);
        return this.unanchored();
      case "CDUP":
      case "XCUP":
        if (!done) break;
        this.dirs.push("..");
        return this.unanchored();
      case "TYPE":
        if (done) this.type = arg.toUpperCase();
        break;
      case "PWD":
      case "XPWD":
        if (reply.code === 257) this.anchor(reply);
        break;
    }
    return false;
  }

  /** Whether the session is logged in (a REIN's 2xx logs it out): a new connection logs in again only then. */
  get isLoggedIn(): boolean {
    return this.loggedIn && this.user !== undefined;
  }

  /** Another MAX_REPLAYED_DIRS changes since the last absolute directory (a PWD that named none leaves them). */
  private unanchored(): boolean {
    return this.dirs.length > MAX_REPLAYED_DIRS && this.dirs.length % MAX_REPLAYED_DIRS === 1;
  }

  /**
   * The server said where the session is (a 257 to PWD): that directory
   * replaces the CWDs and CDUPs that led there. A loop that changes into a
   * directory and back up grew the list by two each time, for as long as
   * the client lived, and a reconnect sent every one of them again. An
   * absolute (`/`) path always: what CWD takes back on any server. Another
   * form (`C:\data` on Windows servers, `'USER.DATA.'` on z/OS) only once
   * the list is past MAX_REPLAYED_DIRS: RFC 959 has PWD name the directory
   * as CWD takes it, but a server whose CWD refused its own form would then
   * fail the reconnect, so the short lists that replay as they are keep
   * doing so; without it a long list grew for as long as the client lived.
   */
  private anchor(reply: Reply): void {
    const path = parse257(reply.text);
    if (path.startsWith("/") || (path !== "" && this.dirs.length > MAX_REPLAYED_DIRS)) this.dirs = [path];
  }

  /** Logs in again as the session did (USER, then PASS and ACCT when asked), if it had logged in. */
  async login(session: Session): Promise<void> {
    if (!this.loggedIn || this.user === undefined) return;
    let reply = await session.command(`USER ${this.user}`);
    if (reply.code >= 300 && reply.code < 400) reply = await session.command(`PASS ${this.password ?? ""}`);
    if (reply.code >= 300 && reply.code < 400) reply = await session.command(`ACCT ${this.acct ?? ""}`);
    if (reply.code < 200 || reply.code >= 300) throw new FtpReplyError(reply.text);
  }

  /** Changes to the directory the session was in, and sets its TYPE again. */
  async restoreState(session: Session): Promise<void> {
    for (const dir of this.dirs) {
      await session.voidCommand(dir === ".." ? "CDUP" : `CWD ${dir}`);
    }
    if (this.type === "A" || this.type === "I") await session.useType(this.type);
    else if (this.type) await session.voidCommand(`TYPE ${this.type}`);
  }
}
