/**
 * How a tree transfer over an FtpPool stops reconnecting for a server that
 * loses every connection: each task whose client died gets a new one, and
 * a server that drops the connection at every RETR (or answers each with
 * `421 ... closing`, or refuses every connect) made the pool connect and
 * log in once per listed file, as fast as it could, for as many files as
 * the server chose to list. Once so many connections were lost in a row
 * with no task ending well in between, the tree's remaining tasks fail at
 * once with the last loss's error, without connecting: as a tree transfer
 * on one client ends when that client's connection is lost.
 */

/** What a tree task's lease tells of its end: the client it ran on, and whether the task failed. */
export type LeaseEnd = (client: { readonly closed: boolean }, failed: boolean) => void;

/** One tree transfer's count of connections lost in a row (see the module's comment). */
export class LossesInRow {
  private count = 0;
  private last: { error: unknown } | undefined;
  /** Clients counted already: the tasks sharing a client (written ahead) that died are one loss. */
  private readonly counted = new WeakSet<object>();

  /** `bound`: the losses in a row after which no task is started. */
  constructor(private readonly bound: number) {}

  /**
   * Runs `lease` (which calls the LeaseEnd it is given once its task has
   * run), unless `bound` connections were lost in a row: then rejects at
   * once with the last loss's error. A lease that fails before its task
   * ran (the connect failed) is a loss, unless `aborted()` says the call
   * was cancelled.
   */
  async run<T>(lease: (ended: LeaseEnd) => Promise<T>, aborted: () => boolean): Promise<T> {
    if (this.last && this.count >= this.bound) throw this.last.error;
    let ran = false;
    let lost = false;
    const ended: LeaseEnd = (client, failed) => {
      ran = true;
      if (!failed) {
        this.count = 0;
      } else if (client.closed && !this.counted.has(client)) {
        this.counted.add(client);
        lost = true;
        this.count++;
      }
    };
    try {
      return await lease(ended);
    } catch (error) {
      if (lost || (!ran && !aborted())) {
        if (!ran) this.count++;
        this.last = { error };
      }
      throw error;
    }
  }
}
