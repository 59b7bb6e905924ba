/**
 * The one command queue: tasks that need the control connection run one at
 * a time, in the order they were queued. A task holds the connection until
 * its promise settles, so a transfer keeps it from its command to its final
 * reply and nothing can interleave a command between the two.
 */

interface Entry {
  task: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export class CommandQueue {
  private readonly waiting: Entry[] = [];
  private busy = false;
  private failure: Error | undefined;

  /** Number of tasks queued behind the running one. */
  get length(): number {
    return this.waiting.length;
  }

  /** True while a task holds the connection. */
  get running(): boolean {
    return this.busy;
  }

  /** Queues `task`; settles as the task does, or rejects if the queue is failed first. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ task, resolve: resolve as (value: unknown) => void, reject });
      this.next();
    });
  }

  /** Rejects every waiting task with `error`, once, and every later one too. The running task fails through its connection. */
  fail(error: Error): void {
    if (!this.failure) this.failure = error;
    const waiting = this.waiting.splice(0);
    for (const entry of waiting) entry.reject(error);
  }

  private next(): void {
    if (this.busy) return;
    const entry = this.waiting.shift();
    if (!entry) return;
    this.busy = true;
    // Start on a microtask: a task queued from a constructor must not run
    // before the constructor has finished.
    Promise.resolve()
      .then(entry.task)
      .then(entry.resolve, entry.reject)
      .finally(() => {
        this.busy = false;
        this.next();
      });
  }
}
