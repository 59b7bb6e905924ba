/**
 * Resuming an upload under the `retry` option: the bytes sent lately, kept
 * to send again, and the rule for where a new attempt starts from what the
 * server says it holds.
 */
import { FtpResumeError } from "./errors.js";
import { parse213 } from "./protocol.js";
import type { Reply } from "./reply.js";

/**
 * The most bytes of an upload kept for sending again. Bytes written to a
 * data connection may sit in socket buffers (ours, a proxy's, the server's)
 * when it breaks; a server can only hold less than was sent by about that
 * much. 16 MiB covers Linux's largest default TCP buffers on both ends
 * twice over. Past it, the oldest bytes are let go.
 */
export const REPLAY_WINDOW = 16 * 1024 * 1024;

/**
 * The last `window` bytes written, with their offsets in the upload; or,
 * given `whole` (a Buffer or string source, which can be read again), every
 * byte: any offset can then be sent again and nothing is copied.
 */
export class ReplayBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Offset (in the upload) of the first byte still kept. */
  start = 0;
  /** Bytes sent in all. */
  end = 0;

  constructor(
    private readonly window = REPLAY_WINDOW,
    private readonly whole?: Buffer,
  ) {}

  add(chunk: Buffer): void {
    this.end += chunk.length;
    if (this.whole) return;
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept - this.chunks[0].length >= this.window) {
      const dropped = this.chunks.shift()!;
      this.kept -= dropped.length;
      this.start += dropped.length;
    }
  }

  /** The bytes from `offset` (start <= offset <= end) to the end, as chunks. */
  *from(offset: number): Generator<Buffer> {
    if (this.whole) {
      if (offset < this.end) yield this.whole.subarray(offset, this.end);
      return;
    }
    let at = this.start;
    for (const chunk of this.chunks) {
      const next = at + chunk.length;
      if (next > offset) yield offset > at ? chunk.subarray(offset - at) : chunk;
      at = next;
    }
  }

  /** A copy of the bytes from `from` to `to` (start <= from <= to <= end): what a resume compares with the server's. */
  slice(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    let wanted = to - from;
    for (const chunk of this.from(from)) {
      if (wanted <= 0) break;
      const part = chunk.length > wanted ? chunk.subarray(0, wanted) : chunk;
      parts.push(part);
      wanted -= part.length;
    }
    return Buffer.concat(parts);
  }
}

/**
 * Where a resumed upload starts: the byte of ours after what the server
 * holds (`stored`, from SIZE, minus `base`: the upload's REST offset, or
 * for APPE the file's size before it). When that is unknown or outside what
 * we still have, but we still have every byte and the command may start
 * over (`restartable`: a plain STOR truncates; APPE would add them twice),
 * it starts again from 0. Else FtpResumeError, which isTransient retries
 * only while the server's size is below what we have (the old connection's
 * bytes may still be on their way to the file).
 */
export function resumeOffset(replay: ReplayBuffer, stored: number | null, base: number, restartable: boolean): number {
  const held = stored === null ? null : stored - base;
  if (held !== null && held >= replay.start && held <= replay.end) return held;
  if (restartable && replay.start === 0) return 0;
  throw new FtpResumeError(
    stored,
    base + replay.start,
    base + replay.end,
    `cannot resume the upload: the server holds ${stored ?? "an unknown number of"} bytes of the file, and only bytes ` +
      `${base + replay.start}..${base + replay.end} are still at hand (a stream source keeps the last ` +
      `${REPLAY_WINDOW / (1024 * 1024)} MiB it sent; a Buffer or string source keeps every byte)`,
  );
}

/**
 * A file's size before an APPE, from the reply to SIZE: the size on 213, 0
 * on 550 (no such file yet: APPE makes it), else null (SIZE refused or not
 * known: an interrupted APPE then has nothing to resume from).
 */
export function appendBase(reply: Reply): number | null {
  return reply.code === 550 ? 0 : parse213(reply.code, reply.text);
}
