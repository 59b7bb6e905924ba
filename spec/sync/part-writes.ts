/** What the specs of lib/part-file.ts give writeThroughPart to fetch with. */
import type { Writable } from "node:stream";

/** A fetch that writes `text` to the part file's stream and ends it, after `before`. */
export function writing(text: string, before?: () => Promise<void>): (sink: Writable) => Promise<{ bytes: number; modified: null }> {
  return async (sink) => {
    await before?.();
    await new Promise<void>((resolve, reject) => {
      sink.once("error", reject);
      sink.end(text, () => resolve());
    });
    return { bytes: text.length, modified: null };
  };
}
