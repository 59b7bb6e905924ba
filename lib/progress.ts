/**
 * Progress of a transfer: bytes counted as they move, and `'progress'`
 * events for the transfer streams, throttled.
 */

/** Progress of a transfer, emitted as `'progress'` at most every 200 ms and once at the end. */
export interface TransferProgress {
  /** Bytes moved on the data connection so far. */
  bytes: number;
  /** Size the server announced (150 reply), if any. */
  total: number | null;
  elapsedMs: number;
  /** Average rate since the data connection opened. */
  bytesPerSecond: number;
}

const PROGRESS_INTERVAL_MS = 200;

/**
 * Counts bytes and emits throttled progress events; shared by both
 * directions. Without `emit` (a promise form called with no onProgress:
 * nobody can listen) it only counts: no clock is read, no snapshot made,
 * which a run of small files would pay for on every file.
 */
export class ProgressMeter {
  // Declared only and set in the constructor: one per transfer, and class
  // fields would be defined by an initializer function of their own (see UploadRun's fields).
  declare bytes: number;
  declare total: number | null;
  declare private started: number;
  declare private lastEmit: number;
  declare private readonly emit: ((progress: TransferProgress) => void) | undefined;

  constructor(emit?: (progress: TransferProgress) => void) {
    this.bytes = 0;
    this.total = null;
    this.started = 0;
    this.lastEmit = 0;
    this.emit = emit;
  }

  start(total: number | null): void {
    this.total = total;
    if (this.emit) this.started = this.lastEmit = performance.now();
  }

  add(length: number): void {
    this.bytes += length;
    if (!this.emit) return;
    const now = performance.now();
    if (now - this.lastEmit >= PROGRESS_INTERVAL_MS) {
      this.lastEmit = now;
      this.emit(this.snapshot(now));
    }
  }

  finish(): void {
    this.emit?.(this.snapshot(performance.now()));
  }

  private snapshot(now: number): TransferProgress {
    const elapsedMs = this.started ? now - this.started : 0;
    return {
      bytes: this.bytes,
      total: this.total,
      elapsedMs,
      bytesPerSecond: elapsedMs > 0 ? (this.bytes * 1000) / elapsedMs : 0,
    };
  }
}
