/**
 * What an upload can read from (a Readable, an iterable of chunks, a Buffer
 * or a string), and the adapters that feed it to an UploadRun: whole bytes
 * given at once (sent before the 1xx), or chunks written one at a time with
 * backpressure, reshaped first where asked (storlines' lines turned into CRLF).
 */
import { constants, type Stats } from "node:fs";
import { lstat, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { asError } from "./as-error.js";
import { onAbortOf } from "./abort-signal.js";
import { FtpError, FtpPathError, FtpSourceChangedError } from "./errors.js";
import { assertRealDirs } from "./path-safety.js";
import type { UploadOwner, UploadRun } from "./upload.js";
import { ignore } from "./ignore.js";

/** What an upload can read from: a Readable, an (async) iterable of chunks, a Buffer or a string. */
export type UploadSource = Readable | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> | Uint8Array | string;

/** Chunks reshaped on their way to the upload. */
export type Reshape = (chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>) => AsyncIterable<Buffer>;

/** Makes the upload that tells `owner` how it ended (not yet begun). */
export type StartUpload = (owner: UploadOwner) => UploadRun;

/** True for anything storbinary/storlines can send (rather than an options object). */
export function isUploadSource(value: unknown): value is UploadSource {
  if (typeof value === "string" || value instanceof Uint8Array || value instanceof Readable) return true;
  if (typeof value !== "object" || value === null) return false;
  return Symbol.asyncIterator in value || Symbol.iterator in value;
}

/**
 * Sends all of `source` (reshaped first, if asked) through the upload
 * `start` makes, and resolves to the final reply. A Buffer or string is
 * handed over whole; anything else is read a chunk at a time, the next
 * only once the upload took the last. The source failing fails the upload
 * (the transfer is aborted); the upload failing destroys a Readable source
 * with the error, as stream.pipeline does. Aborting `signal` aborts the
 * transfer and rejects with an AbortError.
 */
export function uploadFrom(
  source: UploadSource,
  start: StartUpload,
  options: { reshape?: Reshape; signal?: AbortSignal } = {},
): Promise<string> {
  const reshape = options.reshape;
  const signal = options.signal;
  return new Promise<string>((resolve, reject) => {
    const caller = new PromisedUpload(source, resolve, reject);
    const run = start(caller);
    if (signal) caller.stopWatching = failOnAbort(signal, run);
    const whole = !reshape && (typeof source === "string" || source instanceof Uint8Array);
    if (whole) run.sendAll(asBuffer(source));
    run.begin(true);
    if (whole) return;
    const chunks = typeof source === "string" || source instanceof Uint8Array ? [source] : source;
    feed(reshape ? reshape(chunks) : chunks, run).catch((error: unknown) => run.fail(asError(error)));
  });
}

/**
 * The owner of an upload whose caller awaits a promise: it resolves once
 * the upload is done and the queue let go of it too (so the caller's next
 * call finds the queue idle and starts at once), and rejects as soon as
 * the upload fails. Methods, not closures: one object an upload.
 */
class PromisedUpload implements UploadOwner {
  /** Stops watching the caller's signal. */
  stopWatching: () => void = ignore;
  private response: string | undefined;

  constructor(
    private readonly source: UploadSource,
    private readonly resolve: (response: string) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  done(response: string): void {
    this.response = response;
  }

  released(): void {
    const response = this.response;
    if (response === undefined) return;
    this.stopWatching();
    this.resolve(response);
  }

  fail(error: Error): void {
    this.stopWatching();
    if (this.source instanceof Readable) this.source.destroy(error);
    this.reject(error);
  }
}

/** Writes each chunk to the upload once it took the one before, then ends it. */
async function feed(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, run: UploadRun): Promise<void> {
  for await (const chunk of chunks) {
    const bytes = asBuffer(chunk);
    await new Promise<void>((resolve, reject) => run.write(bytes, (error) => (error ? reject(error) : resolve())));
  }
  run.end();
}

/**
 * Aborting `signal` aborts `run` with an AbortError (the transfer is
 * aborted), as addAbortSignal does for the stream forms. Returns what stops
 * watching; an already aborted signal fails it at once.
 */
function failOnAbort(signal: AbortSignal, run: UploadRun): () => void {
  return onAbortOf(signal, (error) => run.abort(error));
}

function asBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === "string") return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

const CRLF = Buffer.from("\r\n");

/**
 * ftplib's storlines, line by line: a line (up to and including LF) that
 * does not end in CRLF loses a trailing CR or LF and gains CRLF. A line
 * longer than `maxLine` is an error, as in ftplib, so a source without
 * line ends cannot make us buffer it whole.
 */
export async function* crlfLines(
  chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  maxLine: number,
): AsyncGenerator<Buffer> {
  let partial: Buffer = Buffer.alloc(0);
  const line = (bytes: Buffer): Buffer => {
    if (bytes.length > maxLine) throw new FtpError(`line longer than ${maxLine} bytes`, "ERR_FTP_LINE_TOO_LONG");
    if (bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d && bytes[bytes.length - 1] === 0x0a) return bytes;
    const last = bytes[bytes.length - 1];
    return Buffer.concat([last === 0x0d || last === 0x0a ? bytes.subarray(0, -1) : bytes, CRLF]);
  };
  for await (const chunk of chunks) {
    const bytes = partial.length > 0 ? Buffer.concat([partial, asBuffer(chunk)]) : asBuffer(chunk);
    let start = 0;
    for (let lf = bytes.indexOf(0x0a); lf !== -1; lf = bytes.indexOf(0x0a, start)) {
      yield line(bytes.subarray(start, lf + 1));
      start = lf + 1;
    }
    partial = bytes.subarray(start);
    if (partial.length > maxLine) line(partial);
  }
  if (partial.length > 0) yield line(partial);
}

/** Which file a tree walk found at a path: its device and inode. */
export interface WalkedFile {
  dev: number;
  ino: number;
}

/** A local file opened for a tree upload, and its stat when opened. */
export interface OpenedFile {
  handle: FileHandle;
  opened: Stats;
}

/**
 * Opens the file `path` below `root` for an upload, only if it is still the
 * regular file the walk found there (same device and inode): never through
 * a link put at its place or on its way since (the walk did not follow
 * one, so neither does the upload: a link to ~/.ssh would send a key), and
 * never a FIFO or device put there (opening a FIFO waits for a writer for
 * ever). lstat first, so a special file is not even opened; then O_NOFOLLOW
 * and O_NONBLOCK, and fstat of what was opened decides. Throws
 * FtpSourceChangedError (`"replaced"`) before anything is sent.
 */
export async function openWalkedFile(root: string, path: string, walked: WalkedFile): Promise<OpenedFile> {
  const full = join(root, path);
  const replaced = (what: string): FtpSourceChangedError =>
    new FtpSourceChangedError(path, "replaced", `${JSON.stringify(path)} is not the file the walk found: ${what}; nothing was sent`);
  // No level above it may have become a link: the walk may have reached the file through one that was there for a moment.
  await assertRealDirs(root, path).catch((error: unknown) => {
    throw error instanceof FtpPathError
      ? replaced(`${JSON.stringify(error.path)} on its way is ${error.reason === "link" ? "a link" : "not a directory"} now`)
      : error;
  });
  const check = (info: Stats): void => {
    if (info.isSymbolicLink()) throw replaced("it is a link now");
    if (!info.isFile()) throw replaced(info.isDirectory() ? "it is a directory now" : "it is a special file now");
    if (info.dev !== walked.dev || info.ino !== walked.ino) throw replaced("another file is at its path (or on its way) now");
  };
  check(await lstat(full));
  const handle = await open(full, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  try {
    const opened = await handle.stat();
    check(opened);
    return { handle, opened };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Throws FtpSourceChangedError (`"changed"`) unless the `sent` bytes read
 * from `file` are its whole size when opened, and its size and time are
 * still those: a file written to while it was read went up torn (or short,
 * or long), and must neither replace the remote copy nor be stamped as in
 * sync with the local one.
 */
export async function assertReadWhole(file: OpenedFile, sent: number, path: string): Promise<void> {
  const now = await file.handle.stat();
  const { opened } = file;
  if (sent === opened.size && now.size === opened.size && now.mtimeMs === opened.mtimeMs) return;
  throw new FtpSourceChangedError(
    path,
    "changed",
    `${JSON.stringify(path)} changed while it was sent (${sent} bytes sent; ${opened.size} bytes when opened, ${now.size} now)` +
      "; its time is not set on the server, so the next run sends it again",
  );
}
