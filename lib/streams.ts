/**
 * Transfers as Node streams. A DownloadStream ends only after the data
 * connection closed and the server's 2xx arrived; an UploadStream finishes
 * only after the server's 2xx. Anything else is an `error`, and destroying
 * either (or aborting its signal) aborts the transfer and frees the queue.
 */
import { finished, Readable, Writable } from "node:stream";
import { onAbortOf } from "./abort-signal.js";
import type { BeforeCommands } from "./command-burst.js";
import { DownloadRun } from "./download.js";
import { HeldError } from "./held-error.js";
import type { TransferProgress } from "./progress.js";
import type { SessionSettings } from "./session.js";
import type { Enqueue, TransferStart } from "./transfer.js";
import { UploadEncoder, UploadRun } from "./upload.js";

export type { TransferProgress } from "./progress.js";
export type { UploadEncoder } from "./upload.js";

export interface TransferStreamOptions {
  /** Stream buffer size in bytes. */
  highWaterMark?: number;
  /** Aborting it aborts the transfer (ABOR) and errors the stream with an AbortError. */
  signal?: AbortSignal;
  /**
   * Write the transfer command right behind EPSV, without waiting for the
   * 229, once this session has reached one of the server's EPSV ports (its
   * first passive transfer connects before it sends the command): a round
   * trip less per transfer on a long link. Never after REST. Should EPSV
   * fail after all, the connection is closed, since the server may act on
   * the command in a mode nobody set up. Default: the client's
   * `pipelining` option.
   */
  commandWithEpsv?: boolean;
  /**
   * Plain commands written ahead of the transfer's own, in the same write
   * when it goes out with its EPSV (see commandWithEpsv): e.g. a file's
   * MDTM asked with its RETR, at no round trip of its own. Lines that
   * must wait for a reply (see README "Pipelining") are refused with a
   * TypeError. `onReplies` gets each reply's text or FtpError, in order,
   * before the transfer's data.
   */
  before?: BeforeCommands;
  /**
   * A download may be written ahead of its turn: when the transfer in
   * front of it on the connection also asked for this and has written its
   * EPSV and command (with `commandWithEpsv`), its own go out at once, and
   * the server answers them as soon as that transfer has ended (a round
   * trip less per file on a long link). Only on servers whose welcome says they read no
   * command during a transfer (vsftpd, GNU inetutils and BSD
   * ftpd), only once the session reached an EPSV port, never after REST
   * nor with `verifySize: true`; elsewhere, and for an upload (which may
   * still ask SIZE after its 226), the option changes nothing.
   * The price: such a transfer in front, aborted (its stream destroyed,
   * its signal, `abort()`), closes the connection instead of sending ABOR,
   * and the download written behind it fails with FtpAheadDroppedError
   * (nothing of it was received). The tree downloads use it. Default false.
   */
  writeAhead?: boolean;
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
   *
   * Whatever this says, a binary download that announced a size
   * and brings more bytes than the check at its end could accept fails at
   * once, with FtpSizeMismatchError, the transfer aborted: a server sending
   * without end would otherwise be written until the disk is full.
   */
  verifySize?: boolean;
  /**
   * The most bytes the file may hold, as curl's `--max-filesize`: counted
   * as the REST offset plus the bytes received. A size the server gives
   * above it (the 150 reply's, or SIZE's under `verifySize: true`, then
   * asked before any RETR) fails the download before a byte is taken; a
   * transfer that grows past it is aborted, the bytes beyond it never
   * handed on. Either way the download fails with FtpLimitError
   * (`limit: "maxFileSize"`, `max` this value). A whole number, 0 or more
   * (0 allows only empty files; unlike curl's, 0 is not "no limit").
   * Default: no limit.
   */
  maxFileSize?: number;
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
  /**
   * Called with the upload's progress, as the stream's `'progress'` events
   * (at most every 200 ms, and once at the end): for storbinary's and
   * storlines' source forms, which have no stream to listen on.
   */
  onProgress?: (progress: TransferProgress) => void;
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
      maxFileSize: options.maxFileSize,
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
    if (options.signal) destroyOnAbort(options.signal, this);
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

export interface UploadStreamOptions extends UploadOptions {
  /** Transforms the bytes on their way (storlines' CRLF rule). */
  encoder?: UploadEncoder;
  /** Called with each block after it is written (ftplib's storbinary callback). */
  onChunk?: ((chunk: Buffer) => void) | undefined;
  /** Largest block handed to onChunk; a whole chunk when unset. */
  blocksize?: number | undefined;
}

/**
 * An upload (STOR, APPE, STOU) as a Writable around an UploadRun, which
 * alone decides how it ends: `finish` comes only after the server's 2xx
 * for the transfer; a refusal at any step is an `error`.
 */
export class UploadStream extends Writable {
  /** The final reply text, set just before `finish`. */
  response: string | undefined;
  private readonly held = new HeldError(this);
  private readonly upload: UploadRun;
  /** _final's callback, until the upload is done. */
  private finalCallback: ((error?: Error | null) => void) | undefined;

  constructor(enqueue: Enqueue, settings: SessionSettings, start: TransferStart, options: UploadStreamOptions = {}) {
    super({ highWaterMark: options.highWaterMark ?? settings.highWaterMark, decodeStrings: true });
    const runOptions = {
      verifySize: options.verifySize,
      encoder: options.encoder,
      callback: options.onChunk,
      blocksize: options.blocksize,
      onProgress: (progress: TransferProgress) => {
        this.emit("progress", progress);
        options.onProgress?.(progress);
      },
    };
    this.upload = new UploadRun(enqueue, settings, start, runOptions, {
      done: (response) => {
        this.response = response;
        const callback = this.finalCallback;
        this.finalCallback = undefined;
        callback?.();
      },
      // Errors the stream now or once it is used or watched (see HeldError); the run releases the transfer either way.
      fail: (error) => void this.held.fail(error),
    });
    if (options.signal) destroyOnAbort(options.signal, this);
    this.upload.begin();
  }

  /** Bytes written to the data connection so far. */
  get bytes(): number {
    return this.upload.bytes;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const held = this.held.use();
    if (held) callback(held);
    else this.upload.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const held = this.held.use();
    if (held) {
      callback(held);
      return;
    }
    this.finalCallback = callback;
    this.upload.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.upload.stop();
    callback(error);
  }
}

/**
 * addAbortSignal's behaviour (the stream destroyed with an AbortError),
 * through the one listener per signal of abort-signal.ts: many streams
 * given one signal put one listener on it, not one each.
 */
function destroyOnAbort(signal: AbortSignal, stream: Readable | Writable): void {
  const stop = onAbortOf(signal, (error) => stream.destroy(error));
  finished(stream, () => stop());
}
