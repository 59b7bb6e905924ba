/**
 * What an upload can read from (a Readable, an iterable of chunks, a Buffer
 * or a string) and the reshaping ftplib's storbinary/storlines forms apply
 * to it: blocks of `blocksize`, or lines turned into CRLF.
 */
import { finished, pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { FtpError } from "./errors.js";
import { pipeSettled } from "./pipe.js";
import type { UploadStream } from "./streams.js";

/** What an upload can read from: a Readable, an (async) iterable of chunks, a Buffer or a string. */
export type UploadSource = Readable | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> | Uint8Array | string;

/** True for anything storbinary/storlines can send (rather than an options object). */
export function isUploadSource(value: unknown): value is UploadSource {
  if (typeof value === "string" || value instanceof Uint8Array || value instanceof Readable) return true;
  if (typeof value !== "object" || value === null) return false;
  return Symbol.asyncIterator in value || Symbol.iterator in value;
}

/** Pipes `source` (reshaped first, if asked) into the upload and resolves to the final reply; the upload errors if the source does. */
export async function sendAll(
  source: UploadSource,
  upload: UploadStream,
  reshape?: (chunks: AsyncIterable<Uint8Array | string>) => AsyncIterable<Buffer>,
): Promise<string> {
  if (!reshape && (typeof source === "string" || source instanceof Uint8Array)) {
    // All of it at hand: written and ended at once, without a Readable
    // around it (Readable.from runs an async iterator: several promises
    // and ticks per upload, for one chunk).
    const settled = finished(upload, { readable: false });
    upload.end(source);
    await settled;
    return upload.response ?? "";
  }
  const readable = typeof source === "string" || source instanceof Uint8Array ? Readable.from([source]) : source;
  if (reshape) await pipeline(readable as Readable, reshape, upload);
  else await pipeSettled(readable instanceof Readable ? readable : Readable.from(readable), upload);
  return upload.response ?? "";
}

/** The bytes of a source that can be read again (a Buffer or string: what sendAll writes), else undefined (a stream or iterable is read once). */
export function rereadable(source: UploadSource): Buffer | undefined {
  return typeof source === "string" || source instanceof Uint8Array ? asBuffer(source) : undefined;
}

function asBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === "string") return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Cuts chunks into blocks of at most `blocksize` bytes. */
export async function* inBlocks(chunks: AsyncIterable<Uint8Array | string>, blocksize: number): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    const bytes = asBuffer(chunk);
    for (let at = 0; at < bytes.length; at += blocksize) yield bytes.subarray(at, at + blocksize);
  }
}

const CRLF = Buffer.from("\r\n");

/**
 * ftplib's storlines, line by line: a line (up to and including LF) that
 * does not end in CRLF loses a trailing CR or LF and gains CRLF. A line
 * longer than `maxLine` is an error, as in ftplib, so a source without
 * line ends cannot make us buffer it whole.
 */
export async function* crlfLines(chunks: AsyncIterable<Uint8Array | string>, maxLine: number): AsyncGenerator<Buffer> {
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
