/**
 * The sinks and sources every contender of a row shares, so a row compares
 * clients and not their test harness.
 */
import { Readable, Writable } from "node:stream";
import { patternBytes } from "../fixtures/pattern.js";

/** Discards every byte; counts them so a short transfer cannot pass for a fast one. */
export class DiscardSink extends Writable {
  bytes = 0;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    callback();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) this.bytes += chunk.length;
    callback();
  }
}

/**
 * Consumes at `bytesPerSecond` on average: a chunk's callback is held until
 * the wall clock has caught up with the bytes taken so far. One timer per
 * chunk at most, and none while the consumer is behind.
 */
export class SlowSink extends Writable {
  bytes = 0;
  private started = 0;

  constructor(private readonly bytesPerSecond: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.started === 0) this.started = performance.now();
    this.bytes += chunk.length;
    const due = this.started + (this.bytes * 1000) / this.bytesPerSecond;
    const wait = due - performance.now();
    if (wait >= 1) setTimeout(callback, wait);
    else callback();
  }
}

/**
 * `size` bytes as fast as they are asked for: the same pre-made block is
 * pushed again and again (it is never written to, so sharing it is safe),
 * so the source costs neither CPU nor memory. 64 KiB chunks, as
 * fs.createReadStream gives.
 */
export class FastSource extends Readable {
  private left: number;
  private readonly block: Buffer;

  constructor(size: number, chunkSize = 64 * 1024) {
    super({ highWaterMark: chunkSize });
    this.left = size;
    // The fixtures' pattern: non-trivial bytes, so nothing can special-case zeros.
    this.block = patternBytes(0, chunkSize);
  }

  override _read(): void {
    for (;;) {
      if (this.left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(this.block.length, this.left);
      this.left -= n;
      if (!this.push(n === this.block.length ? this.block : this.block.subarray(0, n))) return;
    }
  }
}
