/**
 * Settling within a bound, for specs of calls that must not wait out a
 * retry's backoff: the backoffs there are far longer than the bound, so a
 * call that waits for one fails the spec instead of slowing it.
 */
import { expect } from "chai";
import type { RetryOptions } from "../../lib/index.js";
import { settledWithin, type Outcome } from "../faults/helpers.js";

/** A backoff far longer than any spec here may take: a call that waits for it fails the spec. */
export const LONG: RetryOptions = { attempts: 3, minDelay: 10_000, maxDelay: 10_000 };
/** A backoff so short that a reconnect, if one is made, is made at once. */
export const SHORT: RetryOptions = { attempts: 3, minDelay: 1, maxDelay: 2 };

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
