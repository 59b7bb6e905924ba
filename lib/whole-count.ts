/**
 * The check shared by options that count something (bytes, entries) and
 * may be left out: a whole number, 0 or more, that a double holds exactly.
 * Wrong types and wrong numbers fail as Node's own argument checks do.
 */

/** Throws TypeError (`ERR_INVALID_ARG_TYPE`) or RangeError (`ERR_OUT_OF_RANGE`) unless `value` is undefined or such a number; `name` and `unit` word the message ("maxFileSize", "bytes"). */
export function assertOptionalCount(value: unknown, name: string, unit: string): void {
  if (value === undefined) return;
  if (typeof value !== "number") {
    throw Object.assign(new TypeError(`${name} must be a number of ${unit}, got ${typeof value}`), { code: "ERR_INVALID_ARG_TYPE" });
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw Object.assign(new RangeError(`${name} must be a whole number of ${unit}, 0 or more, got ${value}`), {
      code: "ERR_OUT_OF_RANGE",
    });
  }
}
