/**
 * Settling within a bound, for specs of calls that must not wait out a
 * retry's backoff: the backoffs there are far longer than the bound, so a
 * call that waits for one fails the spec instead of slowing it.
 */
import { expect } from "chai";
import { outcome, type Outcome } from "../faults/helpers.js";

/** How `promise` settled, or "pending" if it had not within `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms = 2000): Promise<Outcome<T> | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<"pending">((resolve) => (timer = setTimeout(() => resolve("pending"), ms)));
  try {
    return await Promise.race([outcome(promise), pending]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts `promise` settled (within 2 s, far below any backoff here) and returns how. */
export async function settles<T>(promise: Promise<T>, what: string): Promise<Outcome<T>> {
  const result = await settledWithin(promise);
  if (result === "pending") expect.fail(`${what} did not settle: it waits for a backoff or a reconnect`);
  return result;
}

/** The error of a rejection, failing the spec if it resolved. */
export function errorOf(result: Outcome<unknown>): unknown {
  if (result.ok) expect.fail(`resolved with ${JSON.stringify(result.value)}`);
  return result.error;
}
