/**
 * What an object holds, counted for the long-job specs (bounds-*.spec.ts):
 * every array, Map and Set reachable from it, every listener on a
 * reachable EventEmitter and every timer still pending, each by the path
 * that reaches it. Two counts taken around a long run show which of them
 * grew with the run, whatever the field is called: a leak in a field added
 * later is found too, with no hook in the library.
 */
import { EventEmitter } from "node:events";

/**
 * Objects that are not walked into: Node's own (sockets, servers, timers:
 * their listeners and, for timers, whether they are pending are counted,
 * their internals are not), and byte arrays.
 */
const OPAQUE = new Set([
  "Socket",
  "TLSSocket",
  "Server",
  "Timeout",
  "Immediate",
  "SecureContext",
  "FileHandle",
  "WriteStream",
  "ReadStream",
]);

/** Sizes by path (`$.queue.waitingForReply[]`, `$.control.raw#data`, `$.x:timer`); paths through arrays and maps use `*`. */
export type Holdings = Map<string, number>;

/** Counts what `root` holds, `depth` levels down at most. */
export function holdings(root: object, depth = 8): Holdings {
  const counts: Holdings = new Map();
  const seen = new WeakSet<object>();
  const add = (path: string, n: number): void => void counts.set(path, (counts.get(path) ?? 0) + n);
  const walk = (value: unknown, path: string, level: number): void => {
    if (value === null || typeof value !== "object" || seen.has(value)) return;
    seen.add(value);
    const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? "";
    if (value instanceof EventEmitter) {
      for (const event of value.eventNames()) add(`${path}#${String(event)}`, value.listenerCount(event));
    }
    if (kind === "Timeout") add(`${path}:timer`, (value as { _destroyed?: boolean })._destroyed === false ? 1 : 0);
    if (OPAQUE.has(kind) || ArrayBuffer.isView(value) || level > depth) return;
    if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) return;
    if (Array.isArray(value)) {
      add(`${path}[]`, value.length);
      for (const item of value) walk(item, `${path}[*]`, level + 1);
      return;
    }
    if (value instanceof Map) {
      add(`${path}{}`, value.size);
      for (const [key, item] of value) {
        walk(key, `${path}{key}`, level + 1);
        walk(item, `${path}{*}`, level + 1);
      }
      return;
    }
    if (value instanceof Set) {
      add(`${path}{}`, value.size);
      for (const item of value) walk(item, `${path}{*}`, level + 1);
      return;
    }
    for (const key of Reflect.ownKeys(value)) {
      let item: unknown;
      try {
        item = (value as Record<string | symbol, unknown>)[key];
      } catch {
        continue;
      }
      walk(item, `${path}.${String(key)}`, level + 1);
    }
  };
  walk(root, "$", 0);
  return counts;
}

/** What `after` holds at least `by` more of than `before`, as "path: before -> after". */
export function grownBy(before: Holdings, after: Holdings, by: number): string[] {
  return [...after]
    .filter(([path, n]) => n - (before.get(path) ?? 0) >= by)
    .map(([path, n]) => `${path}: ${before.get(path) ?? 0} -> ${n}`);
}
