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
  bytes = 0;
  total: number | null = null;
  private started = 0;
  private lastEmit = 0;

  constructor(private readonly emit?: (progress: TransferProgress) => void) {}

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
