/**
 * The runs of one transfer stream's queue task. Under `retry` a transfer
 * may run more than once: a transient failure ends the running attempt, and
 * run() throws it to the retry loop, which runs the task again.
 */
import type { FtpError } from "./errors.js";

export class Attempts {
  /** Counts runs. */
  private count = 0;
  /** The attempt whose transfer's callbacks count: 0 once it was handed back, so late ones of an earlier attempt are ignored. */
  live = 0;
  /** The transient failure of the running attempt, for run() to hand to the retry loop. */
  interruption: FtpError | undefined;

  /** Starts the next attempt, live from now on: its number (1 for the first run). */
  begin(): number {
    return (this.live = ++this.count);
  }

  /** Throws the running attempt's transient failure, if any, to the retry loop; no attempt is live after that. */
  handBack(): void {
    const interruption = this.interruption;
    this.interruption = undefined;
    if (!interruption) return;
    this.live = 0;
    throw interruption;
  }
}
