/**
 * Transfers as Node streams. A DownloadStream ends only after the data
 * connection closed and the server's 2xx arrived; an UploadStream finishes
 * only after the server's 2xx. Anything else is an `error`, and destroying
 * either (or aborting its signal) aborts the transfer and frees the queue.
 */
import { addAbortSignal, Readable, Writable } from "node:stream";
import { Attempts } from "./attempts.js";
import { FtpConnectionError, FtpError, FtpSizeMismatchError } from "./errors.js";
import { DownloadRun } from "./download.js";
import { HeldError } from "./held-error.js";
import { ProgressMeter, TransferProgress } from "./progress.js";
import { appendBase, REPLAY_WINDOW, ReplayBuffer, resumeOffset } from "./resume.js";
import { isTransient } from "./retry.js";
import type { Session, SessionSettings } from "./session.js";
import { askSize, sizeReply } from "./size-query.js";
import { dataError, DataTransfer, Enqueue, TransferStart } from "./transfer.js";
import { watchTransfer } from "./transfer-watch.js";

export type { TransferProgress } from "./progress.js";

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
   * Called with the download's progress, as the stream's `'progress'`
   * events (at most every 200 ms, and once at the end): for retrbinary's
   * callback and Writable forms, which have no stream to listen on.
   */
  onProgress?: (progress: TransferProgress) => void;
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

/**
 * A download (RETR, LIST, NLST, MLSD) as a Readable of Buffers. Returned at
 * once; the command is sent when the queue reaches it (see DownloadRun).
 */
export class DownloadStream extends Readable {
  /** The final reply text, set just before `end`. */
  response: string | undefined;
  private readonly held = new HeldError(this);
  private readonly download: DownloadRun;

  constructor(enqueue: Enqueue, settings: SessionSettings, start: TransferStart, options: DownloadOptions = {}) {
    super({ highWaterMark: options.highWaterMark ?? settings.highWaterMark });
    const runOptions = {
      verifySize: options.verifySize,
      maxRead: this.readableHighWaterMark,
      onProgress: (progress: TransferProgress) => {
        this.emit("progress", progress);
        options.onProgress?.(progress);
      },
    };
    this.download = new DownloadRun(enqueue, settings, start, runOptions, {
      write: (chunk) => this.push(chunk),
      end: (response) => {
        this.response = response;
        this.push(null);
      },
      // Errors the stream now or once it is watched (see HeldError); the run releases the transfer either way.
      fail: (error) => void this.held.fail(error),
    });
    if (options.signal) addAbortSignal(options.signal, this);
    this.download.begin();
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.download.bytes;
  }

  /** The size the server announced, or null. */
  get expectedSize(): number | null {
    return this.download.expectedSize;
  }

  override _read(): void {
    const held = this.held.use();
    if (held) {
      this.destroy(held);
      return;
    }
    this.download.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.download.stop();
    callback(error);
  }
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
