/**
 * How a tree transfer over an FtpPool stops reconnecting for a server that
 * loses every connection: each task whose client died gets a new one, and
 * a server that drops the connection at every RETR (or answers each with
 * `421 ... closing`, or refuses every connect) made the pool connect and
 * log in once per listed file, as fast as it could, for as many files as
 * the server chose to list. Once so many tasks lost their connection in a
 * row with no task ending well in between, the tree's remaining tasks fail
 * at once with the last loss's error, without connecting: as a tree
 * transfer on one client ends when that client's connection is lost.
 *
 * A client with `retry` is not closed by a lost connection: its retry
 * reconnects inside the task (attempts + 1 logins for a file whose every
 * RETR is dropped), and the task fails with its client still open. So a
 * task is a loss when its client ended closed, or when its client's retry
 * saw a connection lost while the task ran (Reconnector.lostConnections):
 * counted once per task, however many the retry absorbed, so a file that
 * loses every connection it is tried on, among files that come, is one
 * loss and not the end of the tree. A task that ends well, however many
 * connections its retry lost on the way, ends the row.
 */

import { FtpConnectionError, FtpTimeoutError } from "./errors.js";
import { isServiceClosing } from "./retry.js";

/**
 * What a tree task's lease tells of its end: the client it ran on, whether
 * the task failed, and how many connections that client's retry saw lost
 * while the task ran (0 without `retry`).
 */
export type LeaseEnd = (client: { readonly closed: boolean }, failed: boolean, lostConnections: number) => void;

/** One tree transfer's count of tasks that lost their connection in a row (see the module's comment). */
export class LossesInRow {
  private count = 0;
  private last: { error: unknown } | undefined;
  /** Clients counted already: the tasks sharing a client (written ahead) that died are one loss. */
  private readonly counted = new WeakSet<object>();

  /** `bound`: the losses in a row after which no task is started. */
  constructor(private readonly bound: number) {}

  /**
   * Runs `lease` (which calls the LeaseEnd it is given once its task has
   * run, and `admit` when its client is there, before the task runs),
   * unless `bound` tasks lost their connection in a row: then rejects at
   * once with the last loss's error. `admit` throws that error when the
   * bound was reached while the lease waited for a client: the task does
   * not run (under `retry` it would log in again, attempts + 1 times). A
   * lease that fails before its task ran (the connect failed) is a loss,
   * unless `aborted()` says the call was cancelled.
   */
  async run<T>(lease: (ended: LeaseEnd, admit: () => void) => Promise<T>, aborted: () => boolean): Promise<T> {
    this.admit();
    let ran = false;
    let lost = false;
    const ended: LeaseEnd = (client, failed, lostConnections) => {
      ran = true;
      if (!failed) {
        this.count = 0;
        return;
      }
      const closedNow = client.closed && !this.counted.has(client);
      if (closedNow) this.counted.add(client);
      if (closedNow || lostConnections > 0) {
        lost = true;
        this.count++;
      }
    };
    try {
      return await lease(ended, () => this.admit());
    } catch (error) {
      if (lost || (!ran && !aborted())) {
        if (!ran) this.count++;
        this.last = { error };
      }
      throw error;
    }
  }

  /** Throws the last loss's error once `bound` tasks lost their connection in a row. */
  private admit(): void {
    if (this.last && this.count >= this.bound) throw this.last.error;
  }
}

/**
 * LossesInRow for a tree transfer on one client (FTP.downloadDir and
 * uploadDir): the bound of a pool of one, two tasks that lost their
 * connection in a row. Without `retry` a lost connection closes the client
 * and the tasks left fail at once anyway; with it the client reconnected
 * for each task, attempts + 1 times, through the whole tree. The tree's
 * tasks run two at a time on the client's one queue, so the connections
 * lost while a task ran may be the other task's: a task is a loss only
 * when it failed as a lost connection does (FtpConnectionError,
 * FtpTimeoutError, a 421) and the client's retry saw one lost meanwhile,
 * or when it closed the client.
 */
export class OneClientLosses<C extends { readonly closed: boolean }> {
  private readonly losses = new LossesInRow(2);

  /** `lostConnections`: the client's count of lost connections (Reconnector.lostConnections; 0 without `retry`). */
  constructor(
    private readonly client: C,
    private readonly lostConnections: () => number,
  ) {}

  /** Runs `task` on the client, unless two tasks lost their connection in a row: then rejects with the last loss's error. */
  run<T>(task: (client: C) => Promise<T>): Promise<T> {
    return this.losses.run(
      async (ended) => {
        const lostBefore = this.lostConnections();
        let failure: { error: unknown } | undefined;
        try {
          return await task(this.client);
        } catch (error) {
          failure = { error };
          throw error;
        } finally {
          const lost = failure !== undefined && failedAsLost(failure.error) ? this.lostConnections() - lostBefore : 0;
          ended(this.client, failure !== undefined, lost);
        }
      },
      () => false,
    );
  }
}

/** Whether `error` is how a call fails when its connection is lost: the connection closed or reset, a timeout, a 421. */
function failedAsLost(error: unknown): boolean {
  return error instanceof FtpConnectionError || error instanceof FtpTimeoutError || isServiceClosing(error);
}
