/**
 * Shared harness of the fault specs: a fixture server per spec, a trap for
 * anything that escapes as an uncaught exception or unhandled rejection,
 * and an open-handle count taken before the client exists and compared
 * after it is gone.
 */
import { expect } from "chai";
import { Socket } from "node:net";
import { Readable, Writable } from "node:stream";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { FTP, FtpError } from "../../lib/index.js";
import type { FtpOptions } from "../../lib/index.js";
import { FixtureServer } from "../../fixtures/server.js";
import type { FixtureOptions, Session } from "../../fixtures/server.js";

/** An error class, for `instanceOf` assertions. */
/**
 * In a STOR handler: opens the data connection and resolves with it once
 * the client has sent at least `bytes` (the upload is then well under way).
 */
export async function receiveAtLeast(s: Session, bytes: number): Promise<Socket> {
  const sock = await s.openData();
  let seen = 0;
  await new Promise<void>((resolve) => {
    sock.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= bytes) resolve();
    });
    sock.resume();
  });
  return sock;
}

export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Resource kinds that say nothing about leaks: timers (the fixture keeps
 * unref'd ones, Node its own), and one-shot requests in flight (stdout
 * writes by the reporter, DNS).
 */
const IGNORED_RESOURCES = new Set(["Timeout", "Immediate", "FSReqCallback", "FSReqPromise", "TTYWrap", "PipeWrap", "GetAddrInfoReqWrap"]);

/** Counts of live libuv resources by kind, timers and the like left out. */
export function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (IGNORED_RESOURCES.has(kind)) continue;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Kinds of handle of which `now` has more than `baseline`, as "Kind: before -> now". */
export function excess(baseline: Map<string, number>, now: Map<string, number>): string[] {
  return [...now].filter(([kind, n]) => n > (baseline.get(kind) ?? 0)).map(([kind, n]) => `${kind}: ${baseline.get(kind) ?? 0} -> ${n}`);
}

function describeCounts(counts: Map<string, number>): string {
  return JSON.stringify(Object.fromEntries([...counts].sort()));
}

/** Polls `condition` every few ms until it holds or `limitMs` passes; resolves to its last value. No assertion on time. */
export async function until(condition: () => boolean, limitMs = 3000): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/**
 * Resets a fixture's data connection `data` once the client at its other
 * end (in this process) has read `count` bytes off its socket. A reset
 * that reaches the client before it read them makes its kernel drop them:
 * a fixed sleep before the reset left the client, under load, holding
 * none or fewer, where a spec pins the REST its resume sends. The client's
 * end is found among the process's handles by its local port (its
 * remotePort may still be undefined while it has not seen its connect
 * complete). Waits at most 10 s.
 */
export async function resetOnceRead(data: Socket, count: number): Promise<void> {
  const handles = (): unknown[] => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const peer = (): Socket | undefined =>
    handles().find((handle): handle is Socket => handle instanceof Socket && handle !== data && handle.localPort === data.remotePort);
  await until(() => (peer()?.bytesRead ?? 0) >= count, 10_000);
  data.resetAndDestroy();
}

/** Lets pending I/O callbacks and microtasks run (errors that would escape do so by then). */
export function settleIo(): Promise<void> {
  return new Promise((resolve) => setTimeout(() => setImmediate(resolve), 10));
}

/** Records every uncaught exception and unhandled rejection from install to `release()`. */
export class EscapeTrap {
  readonly escaped: unknown[] = [];
  private readonly onError = (error: unknown): void => {
    this.escaped.push(error);
  };

  constructor() {
    process.on("uncaughtException", this.onError);
    process.on("unhandledRejection", this.onError);
  }

  release(): void {
    process.off("uncaughtException", this.onError);
    process.off("unhandledRejection", this.onError);
  }
}

/** How a promise settled. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Never rejects: resolves to how `promise` settled. */
export function outcome<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** How `promise` settled, or "pending" if it had not within `ms` (a call that never settles fails its spec instead of hanging it). */
export async function settledWithin<T>(promise: Promise<T>, ms = 2000): Promise<Outcome<T> | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<"pending">((resolve) => (timer = setTimeout(() => resolve("pending"), ms)));
  try {
    return await Promise.race([outcome(promise), pending]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Marks `promise` handled now (so a rejection before the spec awaits it is
 * not an unhandled rejection of the spec's own making) and returns it.
 */
export function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Asserts that `promise` rejects with an instance of `type` and returns the error. */
export async function rejectsWith<T extends ErrorClass>(promise: Promise<unknown>, type: T): Promise<InstanceType<T>> {
  const result = await outcome(promise);
  if (result.ok) expect.fail(`expected a rejection with ${type.name}, got a resolution with ${JSON.stringify(result.value)}`);
  const error = (result as { error: unknown }).error;
  expect(error, `rejection: ${String(error)}`).to.be.instanceOf(type);
  return error as InstanceType<T>;
}

/** Every event that ends a stream, counted, and the errors it emitted. */
export interface StreamRecord {
  errors: unknown[];
  ends: number;
  finishes: number;
  data: Buffer;
}

/**
 * Consumes a Readable (or watches a Writable) until it closes, counting
 * `error`, `end` and `finish`. Resolves on `close`, then lets a few more
 * I/O turns pass so a late second error would be seen too.
 */
export function watchStream(stream: Readable | Writable): Promise<StreamRecord> {
  const record: StreamRecord = { errors: [], ends: 0, finishes: 0, data: Buffer.alloc(0) };
  const chunks: Buffer[] = [];
  stream.on("error", (error) => record.errors.push(error));
  stream.on("end", () => record.ends++);
  stream.on("finish", () => record.finishes++);
  if (stream instanceof Readable) stream.on("data", (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
  return new Promise((resolve) => {
    stream.once("close", () => {
      void settleIo().then(() => {
        record.data = Buffer.concat(chunks);
        resolve(record);
      });
    });
  });
}

/** Asserts the stream emitted exactly one error, of class `type`, and never ended or finished. */
export function expectStreamError<T extends ErrorClass>(record: StreamRecord, type: T): InstanceType<T> {
  expect(record.ends, "'end' events").to.equal(0);
  expect(record.finishes, "'finish' events").to.equal(0);
  expect(record.errors, "'error' events").to.have.length(1);
  expect(record.errors[0], `error: ${String(record.errors[0])}`).to.be.instanceOf(type);
  return record.errors[0] as InstanceType<T>;
}

/**
 * One fault case: a fixture server, the escape trap, and the resource
 * baseline taken before any client exists. `finish()` runs the checks every
 * row shares.
 */
export class FaultCase {
  readonly trap = new EscapeTrap();
  baseline: Map<string, number>;
  private readonly clients: FTP[] = [];

  private constructor(readonly srv: FixtureServer) {
    this.baseline = handleCounts();
  }

  static async start(options: FixtureOptions = {}): Promise<FaultCase> {
    return new FaultCase(await FixtureServer.start(options));
  }

  /** Takes the handle baseline again (after a spec changed the server's own handles). */
  rebaseline(): void {
    this.baseline = handleCounts();
  }

  /** A client for this server; logs in as user/pass unless `login: false`. */
  client(options: FtpOptions & { login?: boolean } = {}): FTP {
    const { login = true, ...rest } = options;
    const ftp = login
      ? new FTP({ host: this.srv.host, port: this.srv.port, user: "user", password: "pass", timeout: 5000, ...rest })
      : new FTP({ timeout: 5000, ...rest });
    this.clients.push(ftp);
    return ftp;
  }

  /**
   * The checks of every row: nothing escaped; `ftp.closed` is what the row
   * expects, and an open client still works (PWD after NOOP); once the
   * client is closed, the server sees no connection left and the process has
   * exactly the handles it had before the client existed.
   */
  async finish(ftp: FTP, expectClosed: boolean): Promise<void> {
    await settleIo();
    expect(ftp.closed, "ftp.closed").to.equal(expectClosed);
    if (!expectClosed) {
      expect(await ftp.pwd(), "a command after the fault").to.equal("/");
    } else {
      const later = await outcome(ftp.voidcmd("NOOP"));
      expect(later.ok, "a command on a closed client").to.equal(false);
      expect((later as { error: unknown }).error).to.be.instanceOf(FtpError);
    }
    ftp.close();
    await this.expectNoLeaks();
  }

  /**
   * Waits for every connection to close on both sides, then checks that no
   * kind of handle outnumbers the baseline. (At most, not exactly: in the
   * full suite a handle another spec left closing may go away meanwhile.)
   */
  async expectNoLeaks(): Promise<void> {
    await until(() => this.srv.openConnections() === 0 && excess(this.baseline, handleCounts()).length === 0);
    await settleIo();
    expect(this.srv.openConnections(), "server-side connections left open").to.equal(0);
    expect(excess(this.baseline, handleCounts()), `open handles beyond the baseline ${describeCounts(this.baseline)}`).to.deep.equal([]);
    expect(this.trap.escaped.map(String), "uncaught exceptions / unhandled rejections").to.deep.equal([]);
  }

  /** afterEach: releases the trap and closes the clients and the server, whatever happened. */
  async dispose(): Promise<void> {
    this.trap.release();
    for (const ftp of this.clients) ftp.close();
    await this.srv.close();
  }
}

/** Runs a full garbage collection if the runtime lets us (see soak.spec.ts). */
export const collectGarbage: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    return gc;
  } catch {
    return () => undefined;
  }
})();
