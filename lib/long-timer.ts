/**
 * A timer for a delay the user chose, which may be longer than a Node
 * timer holds: setTimeout() cuts a delay above MAX_TIMER_MS (2^31 - 1 ms,
 * some 24.8 days) to 1 ms, with a TimeoutOverflowWarning, so a wait meant
 * as "a month" ran at once, again and again (a keepAlive NOOP every
 * millisecond, a retry's backoff of nothing).
 */
import { MAX_TIMER_MS } from "./timeout-option.js";

/** A pending LongTimer: clear() stops it (at any step of a long wait). */
export interface LongTimer {
  clear(): void;
}

/**
 * Calls `callback` once `ms` milliseconds have passed, in steps of at most
 * MAX_TIMER_MS; `unref`: no step keeps the process alive.
 */
export function setLongTimeout(callback: () => void, ms: number, unref = false): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number): void => {
    const step = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => {
      if (left > step) arm(left - step);
      else callback();
    }, step);
    if (unref) timer.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
