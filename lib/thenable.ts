/** Whether `value` is a promise (or any thenable): what an async callback returns, which the caller must wait for. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}
