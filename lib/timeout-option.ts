/**
 * The check of FtpOptions.timeout and ConnectOptions.timeout: milliseconds,
 * 0 for none. Node's timers cut a delay above 2^31 - 1 ms to 1 ms (with a
 * TimeoutOverflowWarning), so `timeout: 2 ** 31`, meant as "a month",
 * failed every connect at once; such a value, and Infinity, mean none, as
 * FtpPool's close() takes them. Wrong types and numbers fail as Node's own
 * argument checks do.
 */

/** The longest delay setTimeout() keeps (2^31 - 1 ms); a longer one it cuts to 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `value` as the client keeps it: 0 (none) for 0, Infinity and anything a
 * timer cannot hold, else `value`. Throws TypeError (`ERR_INVALID_ARG_TYPE`)
 * for no number, RangeError (`ERR_OUT_OF_RANGE`) for NaN or below 0.
 */
export function timeoutOption(value: unknown, name: string): number {
  if (typeof value !== "number") {
    throw Object.assign(new TypeError(`${name} must be a number of milliseconds, got ${typeof value}`), { code: "ERR_INVALID_ARG_TYPE" });
  }
  if (!(value >= 0)) {
    throw Object.assign(new RangeError(`${name} must be a number of milliseconds, 0 (none) or more, got ${value}`), {
      code: "ERR_OUT_OF_RANGE",
    });
  }
  return value > MAX_TIMER_MS ? 0 : value;
}
