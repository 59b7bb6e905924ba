/**
 * An AbortSignal on the promise forms of a transfer (retrbinary's callback
 * and Writable forms, storbinary's source forms), which have no stream for
 * addAbortSignal to destroy: the same AbortError, made here.
 */

/** The error addAbortSignal destroys a stream with: name AbortError, code ABORT_ERR, the signal's reason as its cause. */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error("The operation was aborted", { cause: signal.reason }), { name: "AbortError", code: "ABORT_ERR" });
}

/** The one 'abort' listener on a signal, and the calls it tells. */
interface SignalWatch {
  listener: () => void;
  watchers: Set<() => void>;
}

/**
 * One listener per signal, however many calls watch it: a caller that
 * gives one signal to a batch of calls queued at once (one AbortController
 * for a whole job) would otherwise put a listener per call on it, and Node
 * warns of a leak (MaxListenersExceededWarning) past ten.
 */
const watches = new WeakMap<AbortSignal, SignalWatch>();

/**
 * Calls `onAbort` with an AbortError once `signal` aborts (at once when it
 * already has). Returns what stops watching.
 */
export function onAbortOf(signal: AbortSignal, onAbort: (error: Error) => void): () => void {
  const watcher = (): void => onAbort(abortError(signal));
  if (signal.aborted) {
    watcher();
    return () => undefined;
  }
  let watch = watches.get(signal);
  if (!watch) {
    const watchers = new Set<() => void>();
    const listener = (): void => {
      watches.delete(signal);
      for (const told of [...watchers]) told();
    };
    watch = { listener, watchers };
    watches.set(signal, watch);
    signal.addEventListener("abort", listener, { once: true });
  }
  const { listener, watchers } = watch;
  watchers.add(watcher);
  return () => {
    if (!watchers.delete(watcher) || watchers.size > 0) return;
    signal.removeEventListener("abort", listener);
    if (watches.get(signal)?.watchers === watchers) watches.delete(signal);
  };
}
