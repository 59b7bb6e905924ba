/**
 * Resuming an upload under the `retry` option: the bytes sent lately, kept
 * to send again, and the rule for where a new attempt starts from what the
 * server says it holds.
 */
import { FtpError } from "./errors.js";

/**
 * The most bytes of an upload kept for sending again. Bytes written to a
 * data connection may sit in socket buffers (ours, a proxy's, the server's)
 * when it breaks; a server can only hold less than was sent by about that
 * much. 16 MiB covers Linux's largest default TCP buffers on both ends
 * twice over. Past it, the oldest bytes are let go.
 */
export const REPLAY_WINDOW = 16 * 1024 * 1024;

/** The last `window` bytes written, with their offsets in the upload. */
export class ReplayBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Offset (in the upload) of the first byte still kept. */
  start = 0;
  /** Bytes sent in all. */
  end = 0;

  constructor(private readonly window = REPLAY_WINDOW) {}

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.kept += chunk.length;
    this.end += chunk.length;
    while (this.kept - this.chunks[0].length >= this.window) {
      const dropped = this.chunks.shift()!;
      this.kept -= dropped.length;
      this.start += dropped.length;
    }
  }

  /** The bytes from `offset` (start <= offset <= end) to the end, as chunks. */
  *from(offset: number): Generator<Buffer> {
    let at = this.start;
    for (const chunk of this.chunks) {
      const next = at + chunk.length;
      if (next > offset) yield offset > at ? chunk.subarray(offset - at) : chunk;
      at = next;
    }
  }
}

/** The code of the error for an upload whose resume point cannot be found yet (see isTransient). */
export const RESUME_POINT_UNKNOWN = "ERR_FTP_RESUME_POINT";

/**
 * Where a resumed upload starts: the byte of ours after what the server
 * holds (`stored`, from SIZE, minus the upload's REST offset `rest`). When
 * that is unknown or outside what we still have, but we still have every
 * byte, it starts again from 0 (a plain STOR truncates); else the answer is
 * an error another attempt may cure (the old connection's bytes may still
 * be on their way to the file).
 */
export function resumeOffset(replay: ReplayBuffer, stored: number | null, rest: number): number {
  const held = stored === null ? null : stored - rest;
  if (held !== null && held >= replay.start && held <= replay.end) return held;
  if (replay.start === 0) return 0;
  throw new FtpError(
    `cannot resume the upload: the server holds ${stored ?? "an unknown number of"} bytes, and only bytes ${rest + replay.start}..${rest + replay.end} are still at hand`,
    RESUME_POINT_UNKNOWN,
  );
}
