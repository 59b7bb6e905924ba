/**
 * What a rejection or a throw carried, as an Error: JavaScript lets a
 * callback of the user's throw or reject with anything, and the library's
 * errors, events and `destroy()` calls take an Error.
 */

/** `value` itself when it is an Error, else an Error whose message is `String(value)`. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
