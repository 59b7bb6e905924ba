/**
 * Transfers as Node streams. A DownloadStream ends only after the data
 * connection closed and the server's 2xx arrived; an UploadStream finishes
 * only after the server's 2xx. Anything else is an `error`, and destroying
 * either (or aborting its signal) aborts the transfer and frees the queue.
 */
import { addAbortSignal, Readable, Writable } from "node:stream";
import { Attempts } from "./attempts.js";
import { errorForReply, FtpConnectionError, FtpError, FtpSizeMismatchError, FtpTimeoutError } from "./errors.js";
import { slabReaderOf } from "./data.js";
import { HeldError } from "./held-error.js";
import { parse213 } from "./protocol.js";
import type { Reply } from "./reply.js";
import { appendBase, REPLAY_WINDOW, ReplayBuffer, resumeOffset } from "./resume.js";
import { isTransient } from "./retry.js";
import type { Session, SessionSettings } from "./session.js";
import { dataError, DataTransfer, TransferStart } from "./transfer.js";

/** Progress of a transfer, emitted as `'progress'` at most every 200 ms and once at the end. */
export interface TransferProgress {
  /** Bytes moved on the data connection so far. */
  bytes: number;
  /** Size the server announced (150 reply), if any. */
  total: number | null;
  elapsedMs: number;
  /** Average rate since the data connection opened. */
  bytesPerSecond: number;
}

export interface TransferStreamOptions {
  /** Stream buffer size in bytes. */
  highWaterMark?: number;
  /** Aborting it aborts the transfer (ABOR) and errors the stream with an AbortError. */
  signal?: AbortSignal;
}

export interface DownloadOptions extends TransferStreamOptions {
  /** Byte offset to resume from (REST). */
  rest?: number | string;
  /**
   * Whether a download whose byte count disagrees with the size the server
   * announced errors (FtpSizeMismatchError) instead of ending.
   * - Unset (the default): checked when the 150 reply announced a size and
   *   no REST offset makes it ambiguous; costs no round trip.
   * - `true`: also checked after REST (the 150 may give the whole file or
   *   what is left: either fits), and a binary RETR sends SIZE before the
   *   command, used when the 150 has no size.
   * - `false`: never checked.
   *
   * In TYPE A (retrlines) the server announces the file's size as stored,
   * and its ASCII form may be longer (LF sent as CRLF), so only fewer bytes
   * than announced is an error there.
   */
  verifySize?: boolean;
}

export interface UploadOptions extends TransferStreamOptions {
  /** Byte offset to resume at (REST). */
  rest?: number | string;
  /**
   * After the server's 226, ask SIZE and error (FtpSizeMismatchError)
   * instead of finishing if the file on the server is not the size it
   * should be: REST offset plus the bytes sent for STOR, its size before
   * (SIZE, asked first) plus the bytes sent for APPE. Binary uploads
   * (storbinary) only: a text upload's stored size depends on the server's
   * line endings. A refused SIZE leaves nothing to check against.
   */
  verifySize?: boolean;
}

const PROGRESS_INTERVAL_MS = 200;

/** Runs a task when the command queue reaches it, with the session live at that time. */
export type Enqueue = (task: (session: Session) => Promise<void>) => Promise<void>;

/** Counts bytes and emits throttled progress events; shared by both directions. */
class ProgressMeter {
  bytes = 0;
  total: number | null = null;
  private started = 0;
  private lastEmit = 0;

  constructor(private readonly emit: (progress: TransferProgress) => void) {}

  start(total: number | null): void {
    this.total = total;
    this.started = this.lastEmit = performance.now();
  }

  add(length: number): void {
    this.bytes += length;
    const now = performance.now();
    if (now - this.lastEmit >= PROGRESS_INTERVAL_MS) {
      this.lastEmit = now;
      this.emit(this.snapshot(now));
    }
  }

  finish(): void {
    this.emit(this.snapshot(performance.now()));
  }

  private snapshot(now: number): TransferProgress {
    const elapsedMs = this.started ? now - this.started : 0;
    return {
      bytes: this.bytes,
      total: this.total,
      elapsedMs,
      bytesPerSecond: elapsedMs > 0 ? (this.bytes * 1000) / elapsedMs : 0,
    };
  }
}

/**
 * A download (RETR, LIST, NLST, MLSD) as a Readable of Buffers. Returned at
 * once; the command is sent when the queue reaches it.
 */
export class DownloadStream extends Readable {
  /** The final reply text, set just before `end`. */
  response: string | undefined;
  private readonly meter = new ProgressMeter((progress) => this.emit("progress", progress));
  private transfer: DataTransfer | undefined;
  private cleanup: Promise<unknown> | undefined;
  private settle: () => void = () => undefined;
  private readonly verifySize: boolean | undefined;
  /** Under verifySize: the answer to SIZE, for a 150 without a size. */
  private sizeFromCommand: number | null = null;
  /** The REST offset, so a file size can be compared with the bytes received. */
  private restOffset = 0;
  /** TYPE A: the bytes sent are the file's ASCII form, not its stored size. */
  private ascii = false;
  /** Set once the transfer has failed: nothing may end it well after that. */
  private failed = false;
  private readonly held = new HeldError(this);
  /** Under `retry`: a transient failure goes back to the retry loop, which runs the transfer again from the byte delivered (see interrupt). */
  private readonly resumable: boolean;
  /** The running attempt and its transient failure (see interrupt). */
  private readonly attempts = new Attempts();
  /** The whole file's size (a 150 without REST, or SIZE), to check a resumed download against. */
  private wholeSize: number | null = null;
  /** Bytes delivered before the running attempt: more than 0 once it resumed (REST). */
  private deliveredBefore = 0;
  /** A binary RETR: the one download that can go on from a byte offset. */
  private binaryRetr = false;

  constructor(enqueue: Enqueue, settings: SessionSettings, start: TransferStart, options: DownloadOptions = {}) {
    super({ highWaterMark: options.highWaterMark ?? settings.highWaterMark });
    this.resumable = settings.resume;
    this.verifySize = options.verifySize;
    if (options.signal) addAbortSignal(options.signal, this);
    enqueue((session) => this.run(session, start)).catch((error: unknown) => this.fail(dataError(error)));
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.meter.bytes;
  }

  /** The size the server announced, or null. */
  get expectedSize(): number | null {
    return this.meter.total;
  }

  override _read(): void {
    const held = this.held.use();
    if (held) {
      this.destroy(held);
      return;
    }
    const socket = this.transfer?.socket;
    if (socket?.isPaused()) {
      socket.resume();
      // Restart the idle clock: the time spent paused was the consumer's, and
      // a timer due right now must not blame the server before it can send.
      if (socket.timeout) socket.setTimeout(socket.timeout);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }

  /** Ends the transfer's part in the queue: aborts it if it is still running. Idempotent. */
  private release(): void {
    const transfer = this.transfer;
    if (transfer && !transfer.complete) this.cleanup ??= transfer.abort();
    else transfer?.socket.destroy();
    this.settle();
  }

  /** The transfer failed: error the stream now or once it is watched (see HeldError); release the transfer now either way. */
  private fail(error: Error): void {
    if (this.destroyed || this.failed) return;
    this.failed = true;
    if (!this.held.fail(error)) this.release();
  }

  /**
   * The transfer's queue task. Under `retry` it may run more than once: a
   * transient failure ends the attempt (see interrupt) and is thrown to the
   * retry loop, which runs this again, on a new connection if the old one
   * is gone; a binary RETR then starts at the byte delivered so far (REST).
   */
  private async run(session: Session, start: TransferStart): Promise<void> {
    if (this.destroyed) return;
    const attempt = this.attempts.begin();
    const resumed = attempt > 1;
    this.transfer = undefined;
    this.cleanup = undefined;
    let transfer: DataTransfer;
    try {
      if (!resumed) {
        this.restOffset = start.rest === undefined ? 0 : Number(start.rest);
        this.ascii = start.type === "A";
        this.binaryRetr = start.type === "I" && /^RETR /i.test(start.command);
        if (this.verifySize === true && start.type === "I" && /^RETR /i.test(start.command)) {
          // Many servers put no size in the 150; ask SIZE first (in TYPE I,
          // where it counts the bytes RETR sends), so a short transfer that
          // ends in 226 is still caught.
          this.sizeFromCommand = await askSize(session, start.command.slice(5));
        }
      }
      const delivered = (this.deliveredBefore = this.meter.bytes);
      const rest = delivered > 0 ? this.restOffset + delivered : start.rest;
      // The socket stays ours (never handed to the user), so it may read into slabs.
      transfer = await DataTransfer.open(session, { ...start, rest, slabReads: { maxRead: this.readableHighWaterMark } });
      if (delivered === 0 && this.restOffset === 0) this.wholeSize ??= transfer.size ?? this.sizeFromCommand;
    } catch (error) {
      this.interrupt(dataError(error), attempt);
      this.attempts.handBack();
      return;
    }
    this.transfer = transfer;
    session.activeTransfer = transfer;
    try {
      if (this.destroyed) {
        this.cleanup ??= transfer.abort();
      } else {
        if (!resumed) this.meter.start(transfer.size ?? this.sizeFromCommand);
        else this.meter.total ??= this.wholeSize;
        await new Promise<void>((resolve) => {
          this.settle = resolve;
          this.pump(session, transfer, attempt);
        });
      }
      await this.cleanup?.catch(() => undefined);
      await transfer.settledAbort();
    } finally {
      session.activeTransfer = undefined;
    }
    this.attempts.handBack();
  }

  /**
   * A failure of attempt `attempt`: under `retry`, a transient one ends the
   * attempt and waits for run() to hand it to the retry loop — unless the
   * consumer already has bytes that a new attempt could not continue from
   * (a listing or a TYPE A download restarts only from its first byte).
   * Anything else fails the stream.
   */
  private interrupt(error: FtpError, attempt: number): void {
    if (attempt !== this.attempts.live || this.destroyed || this.failed || this.attempts.interruption) return;
    const continuable = this.meter.bytes === 0 || this.binaryRetr;
    if (!this.resumable || !isTransient(error) || !continuable) {
      this.fail(error);
      return;
    }
    this.attempts.interruption = error;
    this.release();
  }

  private pump(session: Session, transfer: DataTransfer, attempt: number): void {
    const socket = transfer.socket;
    const fail = (error: unknown): void => this.interrupt(dataError(error), attempt);
    const onChunk = (chunk: Buffer): void => {
      this.meter.add(chunk.length);
      if (!this.push(chunk)) socket.pause();
    };
    const slabs = slabReaderOf(socket);
    if (slabs) slabs.attach(socket, onChunk);
    else socket.on("data", onChunk);
    watchTransfer(session, transfer, () => socket.isPaused(), fail);
    socket.on("close", (hadError: boolean) => {
      // An error or an abort fails the stream through watchTransfer.
      if (this.destroyed || this.failed || transfer.aborted || hadError) return;
      transfer.finish().then((reply) => {
        if (this.destroyed || this.failed || attempt !== this.attempts.live || this.attempts.interruption) return;
        const mismatch = this.sizeMismatch(transfer, reply.text);
        if (mismatch) {
          fail(mismatch);
          return;
        }
        this.response = reply.text;
        this.meter.finish();
        this.push(null);
        this.settle();
      }, fail);
    });
  }

  /** The error a download that ended with `response` must end with instead, if its byte count disagrees with the announced size (see DownloadOptions.verifySize). */
  private sizeMismatch(transfer: DataTransfer, response: string): FtpSizeMismatchError | undefined {
    if (this.verifySize === false) return undefined;
    if (this.deliveredBefore > 0) {
      // Resumed: the whole file is what the first attempt's 150 (or SIZE) said.
      const whole = this.wholeSize;
      const total = this.meter.bytes + this.restOffset;
      if (whole === null || (this.ascii ? total >= whole : total === whole)) return undefined;
      return new FtpSizeMismatchError(whole, this.meter.bytes, response);
    }
    // Unasked, only a 150's size with no REST is unambiguous.
    if (this.verifySize === undefined && (transfer.size === null || this.restOffset > 0)) return undefined;
    const expected = transfer.size ?? this.sizeFromCommand;
    if (expected === null) return undefined;
    const received = this.meter.bytes;
    // SIZE, and the 150 of vsftpd and the fixture, give the whole file;
    // after REST some servers' 150 gives what is left: either fits. In
    // ASCII only the lower bound of those holds (the whole file's size).
    const fits = this.ascii
      ? received + this.restOffset >= expected
      : received + this.restOffset === expected || (this.restOffset > 0 && transfer.size !== null && received === expected);
    return fits ? undefined : new FtpSizeMismatchError(expected, received, response);
  }
}

/** Sends TYPE I and SIZE (inside the transfer's queue task): the size on a 213 reply, else null. */
async function askSize(session: Session, path: string): Promise<number | null> {
  // A refusal (502, 550) only means there is nothing to verify against.
  const reply = await sizeReply(session, path);
  return parse213(reply.code, reply.text);
}

/** SIZE `path` in TYPE I (several servers refuse it in ASCII): its reply, whatever it is. */
async function sizeReply(session: Session, path: string): Promise<Reply> {
  await session.useType("I");
  session.control.send(`SIZE ${path}`);
  return session.control.readReply(session.settings.timeout);
}

/** Transforms bytes on their way to the data connection (storlines' CRLF rule). */
export interface UploadEncoder {
  convert(chunk: Buffer): Buffer;
  flush(): Buffer;
}

export interface UploadStreamOptions extends UploadOptions {
  encoder?: UploadEncoder;
  /** Called with each block after it is written (ftplib's storbinary callback). */
  onChunk?: (chunk: Buffer) => void;
  /** Every byte the upload will write, when its source can be read again (a Buffer or string): a resume may start anywhere in it. */
  source?: Buffer;
}

/**
 * An upload (STOR, APPE, STOU) as a Writable. `finish` comes only after the
 * server's 2xx for the transfer; a refusal at any step is an `error`.
 */
export class UploadStream extends Writable {
  /** The final reply text, set just before `finish`. */
  response: string | undefined;
  private readonly meter = new ProgressMeter((progress) => this.emit("progress", progress));
  private transfer: DataTransfer | undefined;
  private opened: Promise<DataTransfer | undefined>;
  private resolveOpened: (transfer: DataTransfer | undefined) => void = () => undefined;
  /** `opened` has not settled yet: writes wait on it. */
  private openPending = true;
  private cleanup: Promise<unknown> | undefined;
  private settle: () => void = () => undefined;
  private settled: Promise<void>;
  private waitingWrite: { chunk: Buffer; callback: (error?: Error | null) => void } | undefined;
  /** Set once the transfer has failed: nothing may end it well after that. */
  private failed = false;
  private readonly held = new HeldError(this);
  private readonly encoder: UploadEncoder | undefined;
  private readonly onChunk: ((chunk: Buffer) => void) | undefined;
  /** Under verifySize: the file to ask SIZE of after the 226, and the bytes it held before ours. */
  private sizeCheck: { session: Session; path: string; base: number } | undefined;
  private readonly verifySize: boolean;
  /** _final's callback, until the upload has finished (or failed) on some attempt. */
  private finalCallback: ((error?: Error | null) => void) | undefined;
  /** The attempt whose end _final is driving (see finishOn). */
  private finishing = 0;
  /**
   * Under `retry`, for a binary STOR or APPE: the bytes sent lately (or
   * all of a re-readable source), to send again on a new data connection
   * after a transient failure (see run). Dropped for an APPE whose file
   * size before it is unknown: nothing says where to go on from.
   */
  private replay: ReplayBuffer | undefined;
  /** APPE: the bytes go after the file's end, so a resume sends no REST and never starts over. */
  private readonly appending: boolean;
  /** Where our byte 0 lands in the file: the REST offset (STOR), the size before (APPE; undefined until SIZE told). */
  private base: number | undefined;
  /** The running attempt and its transient failure (see interrupt). */
  private readonly attempts = new Attempts();
  /** The upload's own REST offset. */
  private restOffset = 0;
  /** The session of the running attempt. */
  private session: Session | undefined;

  constructor(
    enqueue: Enqueue,
    settings: SessionSettings,
    private readonly start: TransferStart,
    options: UploadStreamOptions = {},
  ) {
    super({ highWaterMark: options.highWaterMark ?? settings.highWaterMark, decodeStrings: true });
    this.verifySize = options.verifySize ?? false;
    this.encoder = options.encoder;
    this.onChunk = options.onChunk;
    this.appending = /^APPE /i.test(start.command);
    const resumable = settings.resume && start.type === "I" && (this.appending || /^STOR /i.test(start.command));
    this.replay = resumable ? new ReplayBuffer(REPLAY_WINDOW, options.source) : undefined;
    this.restOffset = start.rest === undefined ? 0 : Number(start.rest);
    this.base = this.appending ? undefined : this.restOffset;
    this.opened = new Promise((resolve) => {
      this.resolveOpened = resolve;
    });
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
    if (options.signal) addAbortSignal(options.signal, this);
    enqueue((session) => this.run(session, start)).catch((error: unknown) => {
      this.markOpened(undefined);
      this.fail(dataError(error));
    });
  }

  /** Bytes written to the data connection so far. */
  get bytes(): number {
    return this.meter.bytes;
  }

  /** Settles `opened`: writes go to `transfer`, or fail without one. */
  private markOpened(transfer: DataTransfer | undefined): void {
    this.openPending = false;
    this.resolveOpened(transfer);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const held = this.held.use();
    if (held) {
      callback(held);
      return;
    }
    if (this.transfer && !this.failed) {
      this.send(chunk, callback);
      return;
    }
    this.opened.then((transfer) => {
      if (transfer && !this.destroyed && !this.failed) this.send(chunk, callback);
      else callback(this.held.use() ?? this.errored ?? new Error("upload is not open"));
    }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const held = this.held.use();
    if (held) {
      callback(held);
      return;
    }
    this.finalCallback = callback;
    this.opened.then((transfer) => this.finishOn(transfer), callback);
  }

  /** Ends the upload on `transfer` (the running attempt's): FIN on the data connection, then the server's 2xx. */
  private finishOn(transfer: DataTransfer | undefined): void {
    const callback = this.finalCallback;
    if (!callback) return;
    if (!transfer || this.destroyed || this.failed) {
      this.finalCallback = undefined;
      callback(this.held.use() ?? this.errored ?? new Error("upload is not open"));
      return;
    }
    const attempt = this.attempts.live;
    if (transfer !== this.transfer || this.finishing === attempt) return;
    this.finishing = attempt;
    const tail = this.encoder?.flush();
    const socket = transfer.socket;
    const onClose = (hadError: boolean): void => {
      if (hadError || this.destroyed || this.failed || transfer.aborted) return;
      transfer.finish().then(
        (reply) => void this.confirm(reply.text, attempt),
        (error: unknown) => {
          if (this.replay) this.interrupt(dataError(error), attempt);
          else callback(dataError(error));
        },
      );
    };
    if (socket.closed) {
      // The server closed the data connection before end() (and may have
      // sent its 226): 'close' has come and gone, so waiting for it would
      // hang the upload forever. Bytes still to send could not be sent.
      if (tail && tail.length > 0) callback(new FtpConnectionError("the data connection closed before the upload ended"));
      else onClose(socket.errored !== null);
      return;
    }
    socket.once("close", onClose);
    if (tail && tail.length > 0) {
      this.meter.add(tail.length);
      socket.end(tail);
    } else {
      socket.end();
    }
  }

  /**
   * The server said 2xx: the upload is done — under `retry` once SIZE
   * agrees that the file holds every byte sent (else the missing bytes
   * are sent again).
   */
  private async confirm(response: string, attempt: number): Promise<void> {
    let mismatch: FtpSizeMismatchError | undefined;
    try {
      mismatch = await this.checkSize(response);
    } catch (error) {
      this.interrupt(dataError(error), attempt);
      return;
    }
    if (mismatch) {
      this.interrupt(mismatch, attempt);
      return;
    }
    if (attempt !== this.attempts.live || this.attempts.interruption || this.destroyed || this.failed) return;
    const callback = this.finalCallback;
    this.finalCallback = undefined;
    this.response = response;
    this.meter.finish();
    this.settle();
    callback?.();
  }

  /**
   * After the 226, SIZE against the size the file should have: under
   * `retry` (a binary STOR or APPE), its REST offset or size before plus
   * every byte sent (only fewer counts after a REST of the caller's: a
   * server may keep what lies beyond); under verifySize, exactly the bytes
   * before ours plus ours.
   * A refused SIZE leaves nothing to check against.
   */
  private async checkSize(response: string): Promise<FtpSizeMismatchError | undefined> {
    const check =
      this.replay && this.session ? { session: this.session, path: this.start.command.slice(5), base: this.base ?? 0 } : this.sizeCheck;
    if (!check) return undefined;
    const stored = await askSize(check.session, check.path);
    const expected = check.base + this.meter.bytes;
    if (stored === null || stored === expected) return undefined;
    if (this.replay && !this.appending && this.restOffset > 0 && stored > expected) return undefined;
    return new FtpSizeMismatchError(
      expected,
      stored,
      response,
      `upload sent ${this.meter.bytes} bytes but SIZE gives ${stored}, not ${expected}`,
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release(error);
    callback(error);
  }

  /** Ends the transfer's part in the queue: aborts it if it is still running, fails a write waiting on it. Idempotent. */
  private release(error: Error | null): void {
    const transfer = this.transfer;
    if (transfer && !transfer.complete) this.cleanup ??= transfer.abort();
    else transfer?.socket.destroy();
    const waiting = this.waitingWrite;
    this.waitingWrite = undefined;
    waiting?.callback(error);
    this.settle();
  }

  /** The transfer failed: error the stream now or once it is used or watched (see HeldError); release the transfer now either way. */
  private fail(error: Error): void {
    if (this.destroyed || this.failed) return;
    this.failed = true;
    if (!this.held.fail(error)) this.release(null);
  }

  /**
   * A failure of attempt `attempt`: under `retry`, a transient one of a
   * binary STOR ends the attempt (writes wait for the next one) and waits
   * for run() to hand it to the retry loop. Anything else fails the stream.
   */
  private interrupt(error: FtpError, attempt: number): void {
    if (attempt !== this.attempts.live || this.destroyed || this.failed || this.attempts.interruption) return;
    if (!this.replay || !isTransient(error)) {
      this.fail(error);
      return;
    }
    this.attempts.interruption = error;
    // Writes from now on wait for the next attempt's transfer (writes
    // already waiting on a pending `opened` go on waiting for it).
    if (!this.openPending) {
      this.openPending = true;
      this.opened = new Promise((resolve) => {
        this.resolveOpened = resolve;
      });
    }
    const transfer = this.transfer;
    this.transfer = undefined;
    if (transfer && !transfer.complete) this.cleanup = transfer.abort();
    else transfer?.socket.destroy();
    this.settle();
  }

  private send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const socket = this.transfer!.socket;
    const bytes = this.encoder ? this.encoder.convert(chunk) : chunk;
    this.meter.add(bytes.length);
    this.replay?.add(bytes);
    if (socket.write(bytes)) {
      this.onChunk?.(chunk);
      callback();
      return;
    }
    const waiting = { chunk, callback };
    this.waitingWrite = waiting;
    socket.once("drain", () => {
      if (this.waitingWrite !== waiting) return;
      this.waitingWrite = undefined;
      this.onChunk?.(chunk);
      callback();
    });
  }

  /**
   * The transfer's queue task. Under `retry` it may run more than once
   * (see interrupt): a new attempt asks the server how much it holds
   * (SIZE), sends REST and STOR (or APPE alone), and sends what is missing
   * again before taking new writes.
   */
  private async run(session: Session, start: TransferStart): Promise<void> {
    if (this.destroyed) {
      this.markOpened(undefined);
      return;
    }
    const attempt = this.attempts.begin();
    this.session = session;
    this.cleanup = undefined;
    if (attempt > 1) {
      this.settled = new Promise((resolve) => {
        this.settle = resolve;
      });
    }
    let transfer: DataTransfer;
    let resumeAt = 0;
    try {
      const verb = /^(STOR|APPE) /i.exec(start.command)?.[1].toUpperCase();
      const path = start.command.slice(5);
      if (this.appending && this.base === undefined && start.type === "I" && (this.verifySize || this.replay)) {
        // APPE adds to what is there: learn how much first (none when SIZE
        // says 550). Without that, an interrupted APPE cannot be resumed.
        const before = appendBase(await sizeReply(session, path));
        if (before === null) this.replay = undefined;
        this.base = before ?? 0;
      }
      if (attempt === 1 && this.verifySize && start.type === "I" && verb) this.sizeCheck = { session, path, base: this.base ?? 0 };
      let attemptStart = start;
      if (this.replay && this.replay.end > 0) {
        resumeAt = resumeOffset(this.replay, await askSize(session, path), this.base ?? 0, !this.appending);
        if (resumeAt > 0 && !this.appending) attemptStart = { ...start, rest: this.restOffset + resumeAt };
      }
      transfer = await DataTransfer.open(session, attemptStart);
    } catch (error) {
      this.interrupt(dataError(error), attempt);
      if (!this.attempts.interruption) this.markOpened(undefined);
      this.attempts.handBack();
      return;
    }
    this.transfer = transfer;
    session.activeTransfer = transfer;
    try {
      const socket = transfer.socket;
      const fail = (error: unknown): void => this.interrupt(dataError(error), attempt);
      watchTransfer(session, transfer, () => socket.writableLength === 0, fail);
      // The server sends nothing on an upload's data connection, but its FIN
      // must be read for the socket to close.
      socket.resume();
      if (attempt === 1) this.meter.start(null);
      if (this.replay && attempt > 1) await this.sendAgain(socket, resumeAt);
      if (this.transfer === transfer) {
        this.markOpened(transfer);
        this.releaseWaitingWrite();
        this.finishOn(transfer);
      }
      if (this.destroyed) this.cleanup ??= transfer.abort();
      await this.settled;
      await this.cleanup?.catch(() => undefined);
      await transfer.settledAbort();
    } finally {
      session.activeTransfer = undefined;
    }
    this.attempts.handBack();
  }

  /** Sends the kept bytes from `offset` on, with backpressure; stops if the socket goes. */
  private async sendAgain(socket: DataTransfer["socket"], offset: number): Promise<void> {
    for (const chunk of this.replay!.from(offset)) {
      if (socket.destroyed) return;
      if (!socket.write(chunk)) await drainedOrClosed(socket);
    }
  }

  /** A write that waited on the old data connection's drain: its bytes went out again with the rest, so it is done. */
  private releaseWaitingWrite(): void {
    const waiting = this.waitingWrite;
    this.waitingWrite = undefined;
    if (!waiting) return;
    this.onChunk?.(waiting.chunk);
    waiting.callback();
  }
}

/** Resolves once `socket` drains or closes, leaving no listener behind. */
function drainedOrClosed(socket: DataTransfer["socket"]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

/**
 * Watches a transfer for what must fail its stream, and calls `fail` (which
 * ignores calls after the first) with the error:
 * - the data connection erring, or having failed before we looked (a
 *   refused TLS handshake, a reset between the 1xx and now);
 * - ftp.abort() having cut the data, whatever the replies;
 * - a 4xx/5xx final reply, even while data still flows (disk error);
 * - the data connection sitting idle (see watchIdle).
 */
function watchTransfer(session: Session, transfer: DataTransfer, idleIsOurs: () => boolean, fail: (error: unknown) => void): void {
  const socket = transfer.socket;
  socket.on("error", fail);
  if (socket.destroyed) fail(socket.errored ?? new FtpConnectionError("the data connection closed before the transfer started"));
  transfer.onAbort((aborting) => void aborting.then(() => fail(transfer.abortError()), fail));
  transfer.whenFinal().then((reply) => {
    if (reply.code >= 300 || reply.code < 200) fail(errorForReply(reply.text));
  }, fail);
  watchIdle(session, socket, idleIsOurs, fail);
}

/**
 * Fails the transfer when its data connection sits idle past the timeout —
 * unless the idleness is ours (a paused download, an upload with nothing
 * to send), which is backpressure, not a dead server.
 */
function watchIdle(
  session: Session,
  socket: { setTimeout(ms: number): unknown; on(event: "timeout", listener: () => void): unknown },
  idleIsOurs: () => boolean,
  fail: (error: unknown) => void,
): void {
  const timeout = session.settings.timeout;
  if (timeout <= 0) return;
  socket.setTimeout(timeout);
  socket.on("timeout", () => {
    if (idleIsOurs()) {
      socket.setTimeout(timeout);
      return;
    }
    const error = new FtpTimeoutError(`data connection idle for ${timeout} ms`);
    session.control.close(error);
    fail(error);
  });
}
