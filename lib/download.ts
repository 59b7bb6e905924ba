/**
 * One download (RETR, LIST, NLST, MLSD) run through the command queue, its
 * bytes handed to a DownloadTarget as they come: the DownloadStream, or,
 * for retrbinary's callback and Writable forms, the callback or the
 * Writable itself (download-targets.ts), with no Readable in between.
 *
 * It ends well only after the data connection closed and the server's 2xx
 * arrived, with every byte the server announced; anything else fails the
 * target. Bytes beyond what could still end well (more than the size
 * announced, where the check at the end would refuse them) or beyond
 * `maxFileSize` fail it at once, the transfer aborted: a server sending
 * without end is not written until the disk is full. Under `retry` a transient failure runs the transfer again from
 * the byte delivered (binary RETR) or from the start (nothing delivered yet).
 */
import { Attempts } from "./attempts.js";
import { FtpAheadDroppedError, FtpClosedError, FtpError, FtpLimitError, FtpSizeMismatchError, FtpSourceChangedError } from "./errors.js";
import { slabReaderOf } from "./data.js";
import { ProgressMeter, TransferProgress } from "./progress.js";
import { isTransient } from "./retry.js";
import { OverlapCheck, tailFor, type DeliveredTail } from "./resume-overlap.js";
import type { Session, SessionSettings } from "./session.js";
import { askSize } from "./size-query.js";
import { dataError, DataTransfer, Enqueue, startWith, TransferStart } from "./transfer.js";
import { writeTransferAhead, type WrittenAhead } from "./transfer-ahead.js";
import { watchTransfer, type IdleWatch } from "./transfer-watch.js";
import { ignore } from "./ignore.js";
import { assertOptionalCount } from "./whole-count.js";

/** Where a download's bytes go. */
export interface DownloadTarget {
  /** Takes a chunk; false pauses the data connection until DownloadRun.resume(). */
  write(chunk: Buffer): boolean;
  /** The download ended well, with the server's final reply. */
  end(response: string): void;
  /** The download failed; called once at most, and never after end(). */
  fail(error: Error): void;
}

export interface DownloadRunOptions {
  /** See DownloadOptions.verifySize. */
  verifySize?: boolean | undefined;
  /** Most bytes one read of a clear data connection takes (see SlabReader). */
  maxRead: number;
  /** See DownloadOptions.maxFileSize (checked by the caller: see assertMaxFileSize). */
  maxFileSize?: number | undefined;
  /** Told of progress, throttled (the stream's `'progress'` events). */
  onProgress?: (progress: TransferProgress) => void;
}

/**
 * A download asked for and its arguments checked, not yet run: what a
 * DownloadRun is built from when its queue task's turn comes (see
 * download-targets.ts), so that a download still queued holds no more than
 * this.
 */
export interface DownloadRequest extends DownloadRunOptions {
  /** The command, its REST offset and TYPE. */
  start: TransferStart;
}

/** The client a download built at its turn runs on: its queue, and its session's settings. One per client, not per download. */
export interface DownloadClient {
  readonly enqueue: Enqueue;
  readonly settings: SessionSettings;
}

const RETR = /^RETR /i;

/**
 * Throws unless `value` may be a maxFileSize (DownloadOptions,
 * DirTransferOptions): undefined (no limit) or a whole number of bytes,
 * 0 or more, that a double holds exactly.
 */
export function assertMaxFileSize(value: unknown): void {
  assertOptionalCount(value, "maxFileSize", "bytes");
}

/** Whether a download of `start` may be written ahead of its turn: verifySize: true asks SIZE before the transfer, so nothing of it can. */
export function mayWriteAhead(start: TransferStart, verifySize: boolean | undefined): boolean {
  return start.ahead === true && verifySize !== true;
}

/**
 * The error of a download whose queue task never ran (the queue failed
 * it): with `ahead`, a tree download that an FtpPool may have put on a
 * client whose transfer was under way (transfer-ahead.ts), a connection
 * lost in that one's transfer is no failure of this one, which got
 * nothing and may run again on another connection: FtpAheadDroppedError,
 * as for a download dropped by an abort in front.
 */
export function failedBeforeTurn(start: TransferStart, error: unknown): FtpError {
  if (!start.ahead || !(error instanceof FtpClosedError) || error instanceof FtpAheadDroppedError) return dataError(error);
  return new FtpAheadDroppedError(`closed before its turn: ${error.message}`);
}

export class DownloadRun {
  private readonly meter: ProgressMeter;
  private transfer: DataTransfer | undefined;
  private settle: () => void = ignore;
  private readonly verifySize: boolean | undefined;
  private readonly maxRead: number;
  /** DownloadOptions.maxFileSize: the most the file may hold (REST offset and bytes received), or undefined. */
  private readonly maxFileSize: number | undefined;
  /** Under verifySize: the answer to SIZE, for a 150 without a size. */
  private sizeFromCommand: number | null = null;
  /** The REST offset, so a file size can be compared with the bytes received. */
  private restOffset = 0;
  /** TYPE A: the bytes sent are the file's ASCII form, not its stored size. */
  private ascii = false;
  /** The target is done with the download (stop()): nothing more goes to it. */
  private stopped = false;
  /** Set once the download has failed: nothing may end it well after that. */
  private failed = false;
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
  /** What was written ahead of the transfer's turn (transfer-ahead.ts), for run() to read the replies of. */
  private written: WrittenAhead | undefined;
  /** A binary RETR under `retry`: the last bytes delivered, which a resumed attempt asks for again (resume-overlap.ts). */
  private tail: DeliveredTail | undefined;
  private readonly start: TransferStart;
  /** The resumed attempt's check of the bytes it brings again, set by runIn for pump. */
  private overlap: OverlapCheck | undefined;
  /** The session's idle watch (none with timeout 0), told when a paused download resumes. */
  private idle: IdleWatch | undefined;

  constructor(
    private readonly enqueue: Enqueue,
    settings: SessionSettings,
    start: TransferStart,
    options: DownloadRunOptions,
    private readonly target: DownloadTarget,
  ) {
    // Copied only then: with its count unchecked, a PROT P download is watched for its TLS end (transfer.ts).
    this.start = options.verifySize === false ? { ...start, countUnchecked: true } : start;
    this.resumable = settings.resume;
    this.verifySize = options.verifySize;
    this.maxRead = options.maxRead;
    this.maxFileSize = options.maxFileSize;
    this.meter = new ProgressMeter(options.onProgress);
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.meter.bytes;
  }

  /** The size the server announced, or null. */
  get expectedSize(): number | null {
    return this.meter.total;
  }

  /** Queues the transfer; `now` as for Enqueue (the promise forms, not the stream's constructor). */
  begin(now = false): void {
    const ahead = mayWriteAhead(this.start, this.verifySize) ? (session: Session): boolean => this.writeAheadIn(session) : undefined;
    this.enqueue((session) => this.runIn(session), now, ahead).catch((error: unknown) => this.fail(failedBeforeTurn(this.start, error)));
  }

  /** Writes the transfer ahead of its turn on `session` if it may be (transfer-ahead.ts); true if it did. */
  writeAheadIn(session: Session): boolean {
    if (this.stopped) return false;
    this.written = writeTransferAhead(session, this.start);
    return this.written !== undefined;
  }

  /** The target can take more: a data connection paused for it reads again. */
  resume(): void {
    const socket = this.transfer?.socket;
    if (socket?.isPaused()) {
      socket.resume();
      // Restart the idle clock: the time spent paused was the consumer's, and
      // a check due right now must not blame the server before it can send.
      this.idle?.restart(socket);
    }
  }

  /** The target is done with the download (it ended, or its consumer went): a transfer still running is aborted, and the queue freed. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.release();
  }

  /** Fails the download with `error` (the target's consumer cannot go on): the target is told, the transfer stopped. */
  fail(error: Error): void {
    if (this.stopped || this.failed) return;
    this.failed = true;
    this.target.fail(error);
    this.stop();
  }

  /** Ends the transfer's part in the queue: aborts it if it is still running. Idempotent. */
  private release(): void {
    const transfer = this.transfer;
    // run() waits for the abort to settle (settledAbort) before it lets the queue go.
    if (transfer && !transfer.complete) transfer.abort().catch(() => undefined);
    else transfer?.socket.destroy();
    this.settle();
  }

  /**
   * The transfer's queue task, run on `session` by begin()'s task or by a
   * caller whose own queue task has the turn (download-targets.ts builds
   * the run there). Under `retry` it may run more than once: a transient
   * failure ends the attempt (see interrupt) and is thrown to the retry
   * loop, which runs this again, on a new connection if the old one is
   * gone; a binary RETR then starts at the byte delivered so far (REST).
   */
  async runIn(session: Session): Promise<void> {
    const written = this.written?.session === session ? this.written : undefined;
    this.written = undefined;
    if (this.stopped) {
      // Its commands are with the server, whose replies nobody would read: the connection cannot go on.
      if (written) session.control.close(new FtpAheadDroppedError("closed: a download written ahead of its turn was given up"));
      return;
    }
    const start = this.start;
    const attempt = this.attempts.begin();
    const resumed = attempt > 1;
    this.transfer = undefined;
    let transfer: DataTransfer;
    try {
      if (!resumed) {
        this.restOffset = start.rest === undefined ? 0 : Number(start.rest);
        this.ascii = start.type === "A";
        this.binaryRetr = start.type === "I" && RETR.test(start.command);
        if (this.verifySize === true && this.binaryRetr) {
          // Many servers put no size in the 150; ask SIZE first (in TYPE I,
          // where it counts the bytes RETR sends), so a short transfer that
          // ends in 226 is still caught.
          this.sizeFromCommand = await askSize(session, start.command.slice(5));
          // Larger than maxFileSize: no RETR at all.
          this.refuseAnnounced(this.sizeFromCommand);
        }
      }
      const delivered = (this.deliveredBefore = this.meter.bytes);
      // Resuming with no size of the whole file to check the end against
      // (the first 150 gave none): SIZE now. A server that answers REST
      // with 350 and still sends from byte 0 would otherwise end a file
      // with its first part twice in it as a good download.
      if (delivered > 0 && this.wholeSize === null) {
        this.wholeSize = await askSize(session, start.command.slice(5));
        this.refuseAnnounced(this.wholeSize);
      }
      // Resumed: REST a little before the bytes delivered, which must come
      // again unchanged. A file replaced meanwhile by one of the same size
      // passes every size check; its bytes there differ, and the download
      // fails (overlapChanged) instead of ending half old, half new.
      const again = delivered > 0 && this.tail ? this.tail.last(this.tail.length) : undefined;
      this.overlap = again && new OverlapCheck(again);
      const rest = delivered > 0 ? this.restOffset + delivered - (again?.length ?? 0) : start.rest;
      // The socket stays ours (never handed to the user), so it may read into slabs.
      transfer = await DataTransfer.open(session, startWith(start, rest, { maxRead: this.maxRead }, start.sendEarly), written);
      if (delivered === 0 && this.restOffset === 0) this.wholeSize ??= transfer.size ?? this.sizeFromCommand;
      // Kept from the first byte delivered, in every attempt that may deliver it (one whose open failed delivered none).
      if (delivered === 0 && this.resumable && this.binaryRetr) this.tail = tailFor(transfer.size ?? this.sizeFromCommand);
    } catch (error) {
      this.interrupt(dataError(error), attempt);
      this.attempts.handBack();
      return;
    }
    this.transfer = transfer;
    session.activeTransfer = transfer;
    try {
      const tooLarge = this.overLimit(transfer.size);
      if (this.stopped) {
        transfer.abort().catch(() => undefined);
      } else if (tooLarge) {
        // Before a byte of it is taken; release() aborts the transfer.
        this.fail(tooLarge);
      } else {
        if (!resumed) this.meter.start(transfer.size ?? this.sizeFromCommand);
        else this.meter.total ??= this.wholeSize;
        await new Promise<void>((resolve) => {
          this.settle = resolve;
          this.pump(session, transfer, attempt);
        });
      }
      // Only an abort (ours, or ftp.abort()) leaves anything to wait for.
      if (transfer.aborted) await transfer.settledAbort();
    } finally {
      session.activeTransfer = undefined;
    }
    this.attempts.handBack();
  }

  /**
   * A failure of attempt `attempt`: under `retry`, a transient one ends the
   * attempt and waits for run() to hand it to the retry loop — unless the
   * consumer already has bytes that a new attempt could not continue from
   * (a listing or a TYPE A download restarts only from its first byte),
   * or the transfer was aborted by ftp.abort(). Anything else fails the
   * download.
   */
  private interrupt(error: FtpError, attempt: number): void {
    if (attempt !== this.attempts.live || this.stopped || this.failed || this.attempts.interruption) return;
    const continuable = this.meter.bytes === 0 || this.binaryRetr;
    // A transfer aborted while the download neither stopped nor failed was aborted by its owner
    // (ftp.abort()): its 426 is transient like any other, but the owner asked it to end.
    if (!this.resumable || !isTransient(error) || !continuable || this.transfer?.aborted) {
      this.fail(error);
      return;
    }
    this.attempts.interruption = error;
    this.release();
  }

  private pump(session: Session, transfer: DataTransfer, attempt: number): void {
    const socket = transfer.socket;
    const fail = (error: unknown): void => this.interrupt(dataError(error), attempt);
    // The most bytes (counted as the meter counts them) this attempt may
    // bring: past what the end's size check could still accept, or past
    // maxFileSize, the download fails at once. Without it a server sending
    // without end fills the disk before any check at the end is reached.
    const most = Math.min(this.mostAccepted(transfer) ?? Infinity, this.mostAllowed() ?? Infinity);
    const overlap = this.overlap;
    const tail = this.tail;
    const onChunk = (chunk: Buffer): void => {
      // Failed (past a bound, or otherwise): what still comes is not the target's.
      if (this.failed) return;
      if (overlap && !overlap.done) {
        // Bytes the consumer has already: compared, not delivered twice.
        const rest = overlap.take(chunk);
        if (rest === undefined) {
          this.overlapChanged(
            overlap,
            attempt,
            `the ${overlap.length} bytes sent again from there differ from those delivered before (or the server did not honour REST)`,
          );
          return;
        }
        if (rest.length === 0) return;
        chunk = rest;
      }
      if (this.meter.bytes + chunk.length > most) {
        this.overrun(transfer, this.meter.bytes + chunk.length, attempt);
        return;
      }
      this.meter.add(chunk.length);
      tail?.add(chunk);
      if (!this.target.write(chunk)) socket.pause();
    };
    const slabs = slabReaderOf(socket);
    if (slabs) slabs.attach(socket, onChunk);
    else socket.on("data", onChunk);
    this.idle = watchTransfer(session, transfer, () => socket.isPaused(), fail);
    socket.on("close", (hadError: boolean) => {
      // An error or an abort fails the download through watchTransfer.
      if (this.stopped || this.failed || transfer.aborted || hadError) return;
      transfer.finish().then((reply) => {
        if (this.stopped || this.failed || attempt !== this.attempts.live || this.attempts.interruption) return;
        // Ended inside the bytes it was to send again: the file is shorter than what was delivered of it,
        // unless the 150 still gives the size it had: then the data connection was cut there, a short
        // transfer like any other (transient), not a file grown shorter (a chaos proxy's close did it).
        if (overlap && !overlap.done) {
          const cut = this.sizeAsBefore(transfer, overlap) ? this.sizeMismatch(transfer, reply.text) : undefined;
          if (cut) fail(cut);
          else this.overlapChanged(overlap, attempt, `the file now ends before the ${overlap.length} bytes delivered from there`);
          return;
        }
        const mismatch = this.sizeMismatch(transfer, reply.text);
        if (mismatch) {
          fail(mismatch);
          return;
        }
        this.meter.finish();
        this.target.end(reply.text);
        this.settle();
      }, fail);
    });
  }

  /**
   * The most bytes (the meter's count) that sizeMismatch could still
   * accept at the end of this attempt, or null when it accepts any count
   * above some point (no size to check, verifySize false, TYPE A, an
   * unasked REST). Derived from sizeMismatch's rules, case by case, so
   * that failing a download at once past it never refuses one the end
   * would have taken.
   */
  private mostAccepted(transfer: DataTransfer): number | null {
    // In TYPE A only fewer bytes than announced fail: no upper bound.
    if (this.verifySize === false || this.ascii) return null;
    if (this.deliveredBefore > 0) {
      // Resumed: taken only when the REST offset and the bytes make the whole file.
      return this.wholeSize === null ? null : this.wholeSize - this.restOffset;
    }
    if (this.verifySize === undefined && (transfer.size === null || this.restOffset > 0)) return null;
    const expected = transfer.size ?? this.sizeFromCommand;
    if (expected === null) return null;
    // After REST a 150's size may be the whole file or what is left: the larger of the two counts it allows.
    return this.restOffset > 0 && transfer.size !== null ? expected : expected - this.restOffset;
  }

  /**
   * Resumed attempt `attempt` did not send again the last bytes delivered
   * (`how` says what it sent): the file on the server is not the one the
   * delivered bytes came from. Fails the download with
   * FtpSourceChangedError ("changed"), never transient: going on would
   * splice two versions, and the consumer already has the old one's start.
   */
  private overlapChanged(overlap: OverlapCheck, attempt: number, how: string): void {
    if (attempt !== this.attempts.live || this.stopped || this.failed || this.attempts.interruption) return;
    const from = this.restOffset + this.meter.bytes - overlap.length;
    this.fail(
      new FtpSourceChangedError(
        this.start.command.slice(5),
        "changed",
        `${this.what} changed on the server during the download: resumed at byte ${from}, ${how}; ` +
          "its new bytes are not spliced onto the old version's",
      ),
    );
  }

  /**
   * Whether resumed attempt `transfer`'s 150 gives the file the size it
   * had (wholeSize), counted whole (vsftpd, the fixture) or from the REST
   * offset `overlap` was asked from (servers whose 150 gives what is left).
   */
  private sizeAsBefore(transfer: DataTransfer, overlap: OverlapCheck): boolean {
    const announced = transfer.size;
    const whole = this.wholeSize;
    if (announced === null || whole === null) return false;
    return announced === whole || announced === whole - (this.restOffset + this.deliveredBefore - overlap.length);
  }

  /** The most bytes (the meter's count) maxFileSize lets the file have after the REST offset, or null with no maxFileSize. */
  private mostAllowed(): number | null {
    return this.maxFileSize === undefined ? null : this.maxFileSize - this.restOffset;
  }

  /** What the download is of, for a message: a RETR's file, else the command. */
  private get what(): string {
    const command = this.start.command;
    return JSON.stringify(RETR.test(command) ? command.slice(5) : command);
  }

  /** The FtpLimitError for a size the server gave (a 150's, SIZE's) above maxFileSize, if it is. */
  private overLimit(announced: number | null): FtpLimitError | undefined {
    const max = this.maxFileSize;
    if (max === undefined || announced === null || announced <= max) return undefined;
    return new FtpLimitError(
      "maxFileSize",
      max,
      `${this.what}: the server gives its size as ${announced} bytes, more than maxFileSize (${max}): not downloaded`,
    );
  }

  /** Throws overLimit's error, for a size asked before the transfer was opened. */
  private refuseAnnounced(announced: number | null): void {
    const error = this.overLimit(announced);
    if (error) throw error;
  }

  /**
   * Attempt `attempt` brought `count` bytes (the meter's count, the chunk
   * that passed the bound included, which goes nowhere): past what the
   * size check at the end could accept (FtpSizeMismatchError) or past
   * maxFileSize (FtpLimitError). Fails the download, which aborts the
   * transfer; never a transient failure, since another attempt would
   * meet the same bytes.
   */
  private overrun(transfer: DataTransfer, count: number, attempt: number): void {
    if (attempt !== this.attempts.live || this.stopped || this.failed || this.attempts.interruption) return;
    const accepted = this.mostAccepted(transfer);
    if (accepted !== null && count > accepted) {
      const expected = this.deliveredBefore > 0 ? this.wholeSize! : (transfer.size ?? this.sizeFromCommand)!;
      this.fail(
        new FtpSizeMismatchError(
          expected,
          count,
          "",
          `${this.what}: the server sent more than the ${expected} bytes it announced` +
            `${this.restOffset > 0 ? ` (after REST ${this.restOffset})` : ""}: aborted at ${count}`,
        ),
      );
      return;
    }
    const max = this.maxFileSize!;
    this.fail(
      new FtpLimitError(
        "maxFileSize",
        max,
        `${this.what} is larger than maxFileSize (${max} bytes): the transfer was aborted at ${this.restOffset + count} bytes`,
      ),
    );
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
