/**
 * What the interop specs check streams with: a hash, a whole download, a
 * bounded wait, and reading the first bytes of a download before aborting it.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** `p`, or a clear failure after `ms` instead of a silent hang until mocha's timeout. */
export function settles<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** How `download` ends: its error, or undefined if it ends well. Listen before reading. */
export function endOf(download: Readable): Promise<Error | undefined> {
  return new Promise((resolve) => {
    download.once("error", resolve);
    download.once("end", () => resolve(undefined));
  });
}

/**
 * Reads `download` until at least `bytes` have come, each checked against
 * `expected` from the start, then pauses it (backpressure holds the server).
 * Resolves to the bytes received.
 */
export function readCheckedPrefix(download: Readable, expected: Buffer, bytes: number): Promise<number> {
  let received = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      if (!chunk.equals(expected.subarray(received, received + chunk.length))) reject(new Error(`bytes differ at ${received}`));
      received += chunk.length;
      if (received >= bytes) {
        download.off("data", onData);
        download.pause();
        resolve(received);
      }
    };
    download.on("data", onData);
    download.once("error", reject);
  });
}
