/**
 * The download methods' overloads, told apart in one place so client.ts
 * only dispatches:
 *  - `retrbinary(cmd, options?)` → a stream; `retrbinary(cmd, writable,
 *    options?)` → into a Writable; `retrbinary(cmd, callback,
 *    options | blocksize?, rest?)` → ftplib's callback form;
 *  - `retrlines(cmd, options?)` → a stream of lines; `retrlines(cmd,
 *    callback, options?)` → ftplib's callback form.
 * Telling the forms apart checks nothing and never throws: the stream forms
 * throw bad arguments at the call and the others reject, so the checks
 * stay with the caller.
 */
import { Writable } from "node:stream";
import type { DownloadOptions } from "./streams.js";

/**
 * A block callback for the ftplib-compatible transfer forms. It may be
 * async: a download waits for its promise before the next block and
 * before the call settles, and a rejection fails the call as a throw does
 * (an upload's fails the upload).
 */
export type BlockCallback = (block: Buffer) => unknown;
/** A line callback for retrlines/dir; it may be async, as a BlockCallback. */
export type LineCallback = (line: string) => unknown;

/** Options of the ftplib-compatible `retrbinary(cmd, callback, options)`. */
export interface RetrbinaryOptions extends DownloadOptions {
  /** Largest block handed to the callback (ftplib's blocksize). Default 8192. */
  blocksize?: number;
}

/** Which of retrbinary's forms a call is, with its options in one object. */
export type RetrbinaryForm =
  | { form: "stream"; options: DownloadOptions }
  | { form: "writable"; destination: Writable; options: DownloadOptions }
  | { form: "callback"; callback: BlockCallback; options: RetrbinaryOptions };

/** Which of retrlines' forms a call is. */
export type RetrlinesForm =
  { form: "stream"; options: DownloadOptions } | { form: "callback"; callback: LineCallback; options: DownloadOptions };

/**
 * retrbinary's arguments after `cmd`: a Writable, a callback (then
 * `options` may be ftplib's positional blocksize, and `rest` its
 * positional offset, which an offset in the options object overrides), or
 * the stream form's options.
 */
export function retrbinaryForm(
  target: BlockCallback | Writable | DownloadOptions | undefined,
  options: RetrbinaryOptions | number | undefined,
  rest: number | string | undefined,
): RetrbinaryForm {
  if (isWritable(target)) return { form: "writable", destination: target, options: typeof options === "object" ? options : {} };
  if (typeof target === "function") {
    const settings: RetrbinaryOptions = typeof options === "number" ? { blocksize: options, rest } : { ...options };
    if (rest !== undefined && settings.rest === undefined) settings.rest = rest;
    return { form: "callback", callback: target, options: settings };
  }
  return { form: "stream", options: target ?? {} };
}

/** retrlines' arguments after `cmd`: a callback and options, or the stream form's options. */
export function retrlinesForm(
  callbackOrOptions: LineCallback | DownloadOptions | undefined,
  options: DownloadOptions | undefined,
): RetrlinesForm {
  if (typeof callbackOrOptions === "function") return { form: "callback", callback: callbackOrOptions, options: options ?? {} };
  return { form: "stream", options: callbackOrOptions ?? {} };
}

/** A Writable, from node:stream or any library that keeps its contract. */
export function isWritable(value: unknown): value is Writable {
  if (value instanceof Writable) return true;
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Writable>;
  return typeof candidate.write === "function" && typeof candidate.end === "function" && typeof candidate.on === "function";
}
