/**
 * One upload (STOR, APPE, STOU) run through the command queue: the one
 * core every upload form goes through, as every download goes through
 * DownloadRun. Its bytes come from a source adapter: the UploadStream
 * Writable its caller writes to (streams.ts), an (async) iterable or
 * Readable, or a Buffer or string given whole (upload-source.ts). Whole
 * bytes go out as soon as the data connection is up, before the 1xx
 * (TransferStart.sendEarly); fed bytes are written as they come, with
 * backpressure.
 *
 * It is done only on the server's 2xx after the data connection closed
 * (and, where asked, SIZE agreeing); anything else fails it. `retry` and
 * resume, `verifySize`, the block callback, progress and aborting are
 * features of this core and work whatever the source. ftplib's raw
 * transfers (ntransfercmd, raw.ts) are not uploads of this kind: the
 * caller owns their socket and writes to it, so there is nothing here
 * for them to share.
 *
 * Its states are one `phase`, moved only by moveTo():
 *   queued ──► opening ──► sending ──► closing ──► awaitingReply ──► done
 *      ▲          │           │           │             │
 *      └──────────┴───────────┴───────────┴─────────────┘  a transient failure under `retry`: the next attempt
 *   and from any of those: failed (the transfer went wrong) or aborted (its owner stopped it).
 */
import { TLSSocket } from "node:tls";
import { asError } from "./as-error.js";
import { isThenable } from "./thenable.js";
import { Attempts } from "./attempts.js";
import { FtpConnectionError, FtpError, FtpResumeError, FtpSizeMismatchError } from "./errors.js";
import { ProgressMeter, TransferProgress } from "./progress.js";
import { appendBase, REPLAY_WINDOW, ReplayBuffer, resumeOffset } from "./resume.js";
import { isTransient } from "./retry.js";
import type { Session, SessionSettings } from "./session.js";
import { askSize, sizeReply } from "./size-query.js";
import { dataError, DataTransfer, Enqueue, startWith, TransferStart } from "./transfer.js";
import { heldNotOurs } from "./upload-overlap.js";
import { watchTransfer } from "./transfer-watch.js";
import { ignore } from "./ignore.js";

/**
 * Where an upload is:
 * - queued: waiting for its turn in the command queue (again, after a transient failure under `retry`);
 * - opening: SIZE where needed, REST, the command, the data connection, the 1xx (and, on a resumed
 *   attempt, the bytes the server is missing sent again);
 * - sending: the data connection takes the source's bytes;
 * - closing: the source ended, the data connection is being closed (FIN sent, its close awaited);
 * - awaitingReply: the data connection closed; the final reply (and SIZE, where asked) awaited;
 * - done: the 2xx came after the data connection closed; failed: it went wrong; aborted: its owner stopped it.
 */
export type UploadPhase = "queued" | "opening" | "sending" | "closing" | "awaitingReply" | "done" | "failed" | "aborted";

/** The phases each phase may move to; done, failed and aborted are final. */
const NEXT: Readonly<Record<UploadPhase, readonly UploadPhase[]>> = {
  queued: ["opening", "failed", "aborted"],
  opening: ["sending", "queued", "failed", "aborted"],
  sending: ["closing", "queued", "failed", "aborted"],
  closing: ["awaitingReply", "queued", "failed", "aborted"],
  awaitingReply: ["done", "queued", "failed", "aborted"],
  done: [],
  failed: [],
  aborted: [],
};

const STOR = /^STOR /i;
const APPE = /^APPE /i;

/** Transforms bytes on their way to the data connection (storlines' CRLF rule). */
export interface UploadEncoder {
  convert(chunk: Buffer): Buffer;
  flush(): Buffer;
}

/** Who an upload tells how it ended: once, one or the other. */
export interface UploadOwner {
  /** The server's 2xx after the data connection closed (and SIZE agreeing, where asked). */
  done(response: string): void;
  /** The upload failed; never for a stop() or after done(). */
  fail(error: Error): void;
  /** The command queue let go of the upload's task (after done(), or after it failed): the client's next call starts at once. */
  released?(): void;
}

export interface UploadRunOptions {
  /** See UploadOptions.verifySize. */
  verifySize?: boolean | undefined;
  encoder?: UploadEncoder | undefined;
  /** Called with each block of a chunk once it is written (ftplib's storbinary callback); a promise it returns that rejects fails the upload. */
  callback?: ((block: Buffer) => unknown) | undefined;
  /** Largest block handed to `callback`; a whole chunk when unset. */
  blocksize?: number | undefined;
  /** Told of progress, throttled (the stream's `'progress'` events). */
  onProgress?: ((progress: TransferProgress) => void) | undefined;
}

/** A write of the source's: its chunk, and what to call once it is on the data connection. */
interface Write {
  chunk: Buffer;
  callback: (error?: Error | null) => void;
}

export class UploadRun {
  private current: UploadPhase = "queued";
  /** The final reply text, set just before done. */
  response: string | undefined;
  private readonly meter: ProgressMeter;
  private readonly attempts = new Attempts();
  private transfer: DataTransfer | undefined;
  /** Frees the running attempt's queue task. */
  private settle: () => void = ignore;
  /** Why the upload failed or was aborted: later writes get it. */
  private error: Error | undefined;
  private readonly verifySize: boolean;
  private readonly encoder: UploadEncoder | undefined;
  private readonly onBlock: ((block: Buffer) => unknown) | undefined;
  private readonly blocksize: number;
  /** APPE: the bytes go after the file's end, so a resume sends no REST and never starts over. */
  private readonly appending: boolean;
  /** The upload's own REST offset. */
  private readonly restOffset: number;
  /** Where our byte 0 lands in the file: the REST offset (STOR), the size before (APPE; undefined until SIZE told). */
  private base: number | undefined;
  /**
   * Under `retry`, for a binary STOR or APPE: the bytes sent lately (or
   * all of whole bytes), to send again on a new data connection after a
   * transient failure (see run). Dropped for an APPE whose file size
   * before it is unknown: nothing says where to go on from.
   */
  private replay: ReplayBuffer | undefined;
  /** Under verifySize: the file to ask SIZE of after the 2xx, and the bytes it held before ours. */
  private sizeCheck: { session: Session; path: string; base: number } | undefined;
  /** The session of the running attempt. */
  private session: Session | undefined;
  /** Every byte of the upload, given at once (sendAll). */
  private whole: Buffer | undefined;
  /** `whole` went out on some attempt (and is counted). */
  private wholeSent = false;
  /** A write not yet on a data connection (none is open yet, or a new attempt is opening one). */
  private queued: Write | undefined;
  /** A write on the data connection, waiting for it to drain. */
  private draining: Write | undefined;
  /** The source has no more (end() or sendAll()). */
  private ended = false;
  /** The attempt whose end finish() is driving. */
  private finishing = 0;
  /** The progress clock runs (from the first data connection). */
  private metering = false;
  /** Where the running attempt goes on from, in our bytes (a resume; 0 for a fresh start). */
  private resumeAt = 0;

  constructor(
    private readonly enqueue: Enqueue,
    settings: SessionSettings,
    private readonly start: TransferStart,
    options: UploadRunOptions,
    private readonly owner: UploadOwner,
  ) {
    this.verifySize = options.verifySize ?? false;
    this.encoder = options.encoder;
    this.onBlock = options.callback;
    this.blocksize = options.blocksize ?? Infinity;
    this.meter = new ProgressMeter(options.onProgress);
    this.appending = APPE.test(start.command);
    const resumable = settings.resume && start.type === "I" && (this.appending || STOR.test(start.command));
    this.replay = resumable ? new ReplayBuffer(REPLAY_WINDOW) : undefined;
    this.restOffset = start.rest === undefined ? 0 : Number(start.rest);
    this.base = this.appending ? undefined : this.restOffset;
  }

  /** Where the upload is. */
  get phase(): UploadPhase {
    return this.current;
  }

  /** Bytes written to the data connection so far. */
  get bytes(): number {
    return this.meter.bytes;
  }

  /**
   * Queues the transfer; `now` as for Enqueue (the promise forms, not a
   * stream's constructor). Once the queue has let the transfer go, the
   * owner is told (released); a failure to queue fails the upload.
   */
  begin(now = false): void {
    // One reaction for both outcomes: a promise each upload, not two (a catch, and the owner's then).
    this.enqueue((session) => this.run(session), now).then(
      () => this.owner.released?.(),
      (error: unknown) => this.fail(dataError(error)),
    );
  }

  /**
   * The whole upload at once, before begin(): written as soon as the data
   * connection is up, before the 1xx, and the data connection ended. Under
   * `retry` any offset of it can be sent again.
   */
  sendAll(bytes: Buffer): void {
    this.whole = bytes;
    this.ended = true;
    if (this.replay) this.replay = new ReplayBuffer(REPLAY_WINDOW, bytes);
  }

  /**
   * Sends `chunk`; `callback` once it is on the data connection (or with
   * the error the upload failed with). One write at a time, as a
   * Writable's _write: the next only after this one's callback.
   */
  write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.error) {
      callback(this.error);
      return;
    }
    const write = { chunk, callback };
    if (this.current === "sending") this.send(write);
    else this.queued = write;
  }

  /** The source has no more (after the last write's callback): the data connection is closed and the 2xx awaited. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.current === "sending") this.finish(this.transfer!, this.attempts.live);
  }

  /** Fails the upload with `error` (its source failed): the owner is told, the transfer aborted. */
  fail(error: Error): void {
    this.giveUp("failed", error, true);
  }

  /** Aborts the upload with `error` (its signal): the owner is told, the transfer aborted. */
  abort(error: Error): void {
    this.giveUp("aborted", error, true);
  }

  /** The owner is done with the upload (a destroyed stream): a transfer still running is aborted, and the queue freed. */
  stop(): void {
    this.giveUp("aborted", new FtpError("the upload was aborted", "ERR_FTP_ABORTED"), false);
  }

  /** The one place the phase moves; false if the upload is already over. */
  private moveTo(next: UploadPhase): boolean {
    const allowed = NEXT[this.current];
    if (allowed.includes(next)) {
      this.current = next;
      return true;
    }
    // Done, failed and aborted lead nowhere; anything else is a bug here.
    if (allowed.length === 0) return false;
    throw new Error(`upload: no way from ${this.current} to ${next}`);
  }

  /** Done, failed or aborted: nothing moves it any more. */
  private get isOver(): boolean {
    return this.current === "done" || this.current === "failed" || this.current === "aborted";
  }

  /** Ends the upload badly: writes waiting get `error`, the transfer is aborted, the queue freed; the owner told if `tell`. */
  private giveUp(phase: "failed" | "aborted", error: Error, tell: boolean): void {
    if (!this.moveTo(phase)) return;
    this.error = error;
    const waiting = [this.queued, this.draining];
    this.queued = this.draining = undefined;
    this.release();
    if (tell) this.owner.fail(error);
    for (const write of waiting) write?.callback(error);
  }

  /** Lets go of the running attempt's transfer (aborted if still running) and frees its queue task. */
  private release(): void {
    const transfer = this.transfer;
    this.transfer = undefined;
    // run() waits for the abort to settle (settledAbort) before it lets the queue go.
    if (transfer && !transfer.complete) transfer.abort().catch(() => undefined);
    else transfer?.socket.destroy();
    this.settle();
  }

  /**
   * A failure of attempt `attempt`: under `retry`, a transient one of a
   * binary STOR or APPE ends the attempt (writes wait for the next one)
   * and waits for run() to hand it to the retry loop, unless the transfer
   * was aborted by ftp.abort(). Anything else fails the upload.
   */
  private interrupt(error: FtpError, attempt: number): void {
    if (attempt !== this.attempts.live || this.isOver || this.attempts.interruption) return;
    // A transfer aborted while the upload is not over was aborted by its owner (ftp.abort()): its 426
    // is transient like any other, but the owner asked it to end.
    if (!this.replay || !isTransient(error) || this.transfer?.aborted) {
      this.fail(error);
      return;
    }
    this.attempts.interruption = error;
    this.moveTo("queued");
    this.release();
  }

  /**
   * The transfer's queue task. Under `retry` it may run more than once
   * (see interrupt): a new attempt asks the server how much it holds
   * (SIZE), sends REST and STOR (or APPE alone), and sends what is missing
   * again before taking new writes. Kept small, with the rarer steps in
   * methods of their own: it runs once per upload, and V8 compiles it
   * sooner and at less cost the less it holds (bench rows 6 and 14).
   */
  private async run(session: Session): Promise<void> {
    if (this.isOver) return;
    const attempt = this.attempts.begin();
    this.session = session;
    this.moveTo("opening");
    const settled = new Promise<void>((resolve) => {
      this.settle = resolve;
    });
    let transfer: DataTransfer;
    try {
      // SIZE only where this attempt needs it; most uploads go straight on.
      const start = this.needsSize() ? await this.sizedStart(session) : this.plainStart();
      if (attempt === 1) this.checkSizeLater(session);
      transfer = await DataTransfer.open(session, start);
    } catch (error) {
      this.interrupt(dataError(error), attempt);
      this.attempts.handBack();
      return;
    }
    this.transfer = transfer;
    session.activeTransfer = transfer;
    try {
      if (this.isOver) {
        this.transfer = undefined;
        transfer.abort().catch(() => undefined);
      } else {
        const resending = this.started(session, transfer, attempt);
        if (resending) await resending;
        if (this.transfer === transfer && this.current === "opening") this.flow(transfer, attempt);
        await settled;
      }
      // Only an abort (ours, or ftp.abort()) leaves anything to wait for.
      if (transfer.aborted) await transfer.settledAbort();
    } finally {
      session.activeTransfer = undefined;
    }
    this.attempts.handBack();
  }

  /** Whether this attempt must ask SIZE before its command: an APPE's size before it, or a resume's offset. */
  private needsSize(): boolean {
    if (this.replay && this.replay.end > 0) return true;
    return this.appending && this.base === undefined && this.start.type === "I" && (this.verifySize || this.replay !== undefined);
  }

  /** The start of an attempt that asks nothing first: whole bytes are written before the 1xx, so its round trip overlaps the transfer. */
  private plainStart(): TransferStart {
    const start = this.start;
    this.resumeAt = 0;
    // Not for an APPE that may resume: if its 1xx never came, nothing
    // would say whether the server appended them.
    if (this.whole && !this.encoder && !(this.replay && this.appending)) return startWith(start, start.rest, start.slabReads, this.whole);
    return start;
  }

  /** The start of an attempt that asks SIZE first: of an APPE's file before it (none when 550), and where a resume goes on from. */
  private async sizedStart(session: Session): Promise<TransferStart> {
    const start = this.start;
    const path = start.command.slice(5);
    if (this.appending && this.base === undefined) {
      // APPE adds to what is there: learn how much first. Without that, an interrupted APPE cannot be resumed.
      const before = appendBase(await sizeReply(session, path));
      if (before === null) this.replay = undefined;
      this.base = before ?? 0;
    }
    if (!this.replay || this.replay.end === 0) return this.plainStart();
    const stored = await askSize(session, path);
    this.resumeAt = resumeOffset(this.replay, stored, this.base ?? 0, !this.appending);
    if (this.resumeAt > 0) await this.checkHeld(session, path, stored!);
    if (this.resumeAt > 0 && !this.appending) return startWith(start, this.restOffset + this.resumeAt, start.slabReads, start.sendEarly);
    return start;
  }

  /**
   * Before a resume at resumeAt (> 0, from SIZE's `stored`): the bytes the
   * server holds must end with ours (heldNotOurs reads the last of them
   * back). Where they do not, or cannot be read or compared, a STOR that
   * still has every byte starts over (a plain STOR truncates); anything
   * else fails with FtpResumeError, not retried: going on would splice
   * another file's bytes (or another writer's) with ours, reported whole.
   */
  private async checkHeld(session: Session, path: string, stored: number): Promise<void> {
    const replay = this.replay!;
    const base = this.base ?? 0;
    // The read back is the attempt's transfer while it runs, so the upload's abort (its signal, a destroyed stream) aborts it (release).
    const found = await heldNotOurs(session, path, replay, this.resumeAt, base, (transfer) => (this.transfer = transfer));
    // Aborted meanwhile (before the read back's transfer was up, too): no STOR goes; run() ignores this error.
    if (this.isOver) throw this.error!;
    if (found === undefined) return;
    if (!this.appending && replay.start === 0) {
      this.resumeAt = 0;
      return;
    }
    throw new FtpResumeError(
      stored,
      base + replay.start,
      base + replay.end,
      `cannot resume the upload to ${JSON.stringify(path)}: the server holds ${stored} bytes of the file, but ${found}; ` +
        `not resumed, which would join those bytes and ours into one file` +
        (this.appending
          ? " (an APPE cannot start over)"
          : ` (only bytes ${base + replay.start}..${base + replay.end} are still at hand to start over with)`),
    );
  }

  /** Under verifySize (asked on the first attempt): the file SIZE is asked of after the 2xx, and the bytes it held before ours. */
  private checkSizeLater(session: Session): void {
    const start = this.start;
    if (this.verifySize && start.type === "I" && (STOR.test(start.command) || APPE.test(start.command)))
      this.sizeCheck = { session, path: start.command.slice(5), base: this.base ?? 0 };
  }

  /**
   * The data connection is up: watched, its FIN read, the progress clock
   * started, and what already went out (whole bytes sent early) counted. A
   * resumed attempt sends the bytes the server is missing again first:
   * the promise of that, or undefined.
   */
  private started(session: Session, transfer: DataTransfer, attempt: number): Promise<void> | undefined {
    const socket = transfer.socket;
    watchTransfer(
      session,
      transfer,
      // Idle with nothing to write is ours (a slow source) only while the
      // source still runs: once it ended and our FIN went, the wait for the
      // server's close is the server's, as for one that said 2xx and never
      // read the data connection (its bytes unread, its FIN never sent).
      () => socket.writableLength === 0 && this.current === "sending",
      (error) => this.interrupt(dataError(error), attempt),
    );
    // The server sends nothing on an upload's data connection, but its FIN
    // must be read for the socket to close.
    socket.resume();
    if (!this.metering) {
      this.metering = true;
      this.meter.start(null);
    }
    if (transfer.sentEarly) this.sentWhole();
    else if (this.replay && this.replay.end > 0) return this.sendAgain(socket, this.resumeAt);
    return undefined;
  }

  /** The data connection takes new bytes: what waited goes out, and the upload ends if the source has. */
  private flow(transfer: DataTransfer, attempt: number): void {
    this.moveTo("sending");
    // A write that waited on the old data connection's drain: its bytes went out again with the rest.
    const drained = this.draining;
    this.draining = undefined;
    if (drained) this.written(drained);
    if (this.whole && !this.wholeSent) {
      this.sentWhole();
      transfer.socket.end(this.whole);
    }
    const queued = this.queued;
    this.queued = undefined;
    if (queued && this.current === "sending") this.send(queued);
    if (this.ended && this.current === "sending") this.finish(transfer, attempt);
  }

  /** `whole` is on the data connection: counted, kept for a resume, called back. */
  private sentWhole(): void {
    const whole = this.whole!;
    this.wholeSent = true;
    this.meter.add(whole.length);
    this.replay?.add(whole);
    this.blocks(whole);
  }

  private send(write: Write): void {
    const socket = this.transfer!.socket;
    if (socket.writableEnded || socket.destroyed) {
      // The server closed the data connection before the source ended (its
      // FIN ends ours too): these bytes cannot go out, and no 'drain' or
      // idle timeout would ever come for them.
      this.queued = write;
      this.interrupt(closedEarly(), this.attempts.live);
      return;
    }
    const bytes = this.encoder ? this.encoder.convert(write.chunk) : write.chunk;
    this.meter.add(bytes.length);
    this.replay?.add(bytes);
    if (socket.write(bytes)) {
      this.written(write);
      return;
    }
    this.draining = write;
    socket.once("drain", () => {
      if (this.draining !== write) return;
      this.draining = undefined;
      this.written(write);
    });
  }

  /** A write is on the data connection: its blocks are called back, and the source may go on. */
  private written(write: Write): void {
    this.blocks(write.chunk);
    write.callback();
  }

  /**
   * Hands `chunk` to the block callback in blocks of at most `blocksize`
   * bytes. A callback that returns a promise (an async function) and
   * rejects fails the upload as a throw does, if it is still running:
   * unwatched, the rejection went unhandled, and a process exits on that.
   */
  private blocks(chunk: Buffer): void {
    const onBlock = this.onBlock;
    if (!onBlock) return;
    if (chunk.length <= this.blocksize) this.watchBlock(onBlock(chunk));
    else for (let at = 0; at < chunk.length; at += this.blocksize) this.watchBlock(onBlock(chunk.subarray(at, at + this.blocksize)));
  }

  /** What the block callback returned: a promise's rejection fails the upload (see blocks). */
  private watchBlock(result: unknown): void {
    if (!isThenable(result)) return;
    Promise.resolve(result).then(undefined, (error: unknown) => this.fail(asError(error)));
  }

  /** Ends the upload on `transfer` (attempt `attempt`'s): FIN on the data connection, then the server's 2xx. */
  private finish(transfer: DataTransfer, attempt: number): void {
    if (this.finishing === attempt) return;
    this.finishing = attempt;
    this.moveTo("closing");
    const socket = transfer.socket;
    const tail = this.encoder?.flush();
    const onClose = (hadError: boolean): void => {
      // An error or an abort fails the upload through watchTransfer.
      if (hadError || transfer.aborted || attempt !== this.attempts.live || this.current !== "closing") return;
      this.moveTo("awaitingReply");
      transfer.finish().then(
        (reply) => (this.replay || this.sizeCheck ? void this.confirm(reply.text, attempt) : this.succeed(reply.text, attempt)),
        (error: unknown) => this.interrupt(dataError(error), attempt),
      );
    };
    if (socket.closed) {
      // The server closed the data connection before we ended it (having
      // read bytes sent early, or given up): 'close' has come and gone, so
      // waiting for it would hang the upload. Bytes still to send could not be.
      if (tail && tail.length > 0) this.interrupt(closedEarly(), attempt);
      else onClose(socket.errored !== null);
      return;
    }
    // 'close' comes once: no once() wrapper needed.
    socket.on("close", onClose);
    if (socket.writableEnded) return;
    const end = (): void => {
      if (socket.writableEnded || socket.destroyed) return;
      if (tail && tail.length > 0) {
        this.meter.add(tail.length);
        socket.end(tail);
      } else {
        socket.end();
      }
    };
    // Under PROT P, not before the TLS handshake is done: ended with nothing
    // written (an empty source), the TCP write side went down mid-handshake,
    // the client's Finished never reached the server, and it answered 522.
    // A failed handshake fails the upload through watchTransfer.
    if (socket instanceof TLSSocket) transfer.handshake.then(end, ignore);
    else end();
  }

  /**
   * The server said 2xx after the data connection closed: the upload is
   * done — under `retry` or verifySize once SIZE agrees that the file holds
   * every byte sent (under `retry` the missing bytes are sent again).
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
    this.succeed(response, attempt);
  }

  /** The upload is done: the 2xx came after the data connection closed (and SIZE agreed, where asked). */
  private succeed(response: string, attempt: number): void {
    if (attempt !== this.attempts.live || this.current !== "awaitingReply") return;
    this.moveTo("done");
    this.response = response;
    this.meter.finish();
    this.settle();
    this.owner.done(response);
  }

  /**
   * After the 2xx, SIZE against the size the file should have: under
   * `retry` (a binary STOR or APPE), its REST offset or size before plus
   * every byte sent (only fewer counts after a REST of the caller's: a
   * server may keep what lies beyond); under verifySize, exactly the bytes
   * before ours plus ours. A refused SIZE leaves nothing to check against.
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

  /** Sends the kept bytes from `offset` on, with backpressure; stops if the socket goes. */
  private async sendAgain(socket: DataTransfer["socket"], offset: number): Promise<void> {
    for (const chunk of this.replay!.from(offset)) {
      if (socket.destroyed) return;
      if (!socket.write(chunk)) await drainedOrClosed(socket);
    }
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

/** The data connection closed while the source still had bytes for it. */
function closedEarly(): FtpConnectionError {
  return new FtpConnectionError("the data connection closed before the upload ended");
}
