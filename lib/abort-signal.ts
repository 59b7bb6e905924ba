/**
 * An AbortSignal on the promise forms of a transfer (retrbinary's callback
 * and Writable forms, storbinary's source forms), which have no stream for
 * addAbortSignal to destroy: the same AbortError, made here.
 */

/** The error addAbortSignal destroys a stream with: name AbortError, code ABORT_ERR, the signal's reason as its cause. */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error("The operation was aborted", { cause: signal.reason }), { name: "AbortError", code: "ABORT_ERR" });
}

/**
 * Calls `onAbort` with an AbortError once `signal` aborts (at once when it
 * already has). Returns what stops watching.
 */
export function onAbortOf(signal: AbortSignal, onAbort: (error: Error) => void): () => void {
  const listener = (): void => onAbort(abortError(signal));
  if (signal.aborted) {
    listener();
    return () => undefined;
  }
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}
