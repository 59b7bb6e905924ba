/**
 * The one command queue. It keeps what is not yet written apart from what
 * is written and waiting for its replies (node-redis's `#toWrite` and
 * `#waitingForReply`), so the order of commands on the wire, and which reply
 * answers which command, are properties of the two lists:
 *
 * - an entry leaves `toWrite` only from its head, so commands are written
 *   in the order they were queued;
 * - replies come in the order commands were written, so only the head of
 *   `waitingForReply` reads, and each entry reads its own replies.
 *
 * Two kinds of entry:
 * - an exclusive task (`run`) holds the connection alone: it starts once
 *   nothing written is waiting, and nothing else is written until its
 *   promise settles. A transfer holds it from its command to its final
 *   reply, so nothing can come between the two. Without pipelining every
 *   entry is one, and tasks run one at a time, in call order.
 * - a pipelined exchange (`pipeline`) is written as soon as it reaches the
 *   head of `toWrite` and fewer than `window` entries wait for replies,
 *   without waiting for the replies of those before it.
 *
 * One exception to "nothing else is written": a transfer task that has
 * written its command and will write nothing more (openAhead) lets the
 * next entry, when that is a transfer task that may go ahead (`ahead`),
 * write its commands at once. The server reads them after the running
 * transfer's final reply (see lib/transfer-ahead.ts); the written one
 * still runs after it, and reads its replies then.
 */

/** The promise whose reactions start exclusive tasks (see startExclusive). */
const RESOLVED: Promise<void> = Promise.resolve();

/** Where a pipelined exchange's read settles: once, with its result or its failure. */
export interface ReadOutcome<T> {
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** One exchange that may be written while earlier ones still wait for their replies. */
export interface PipelinedExchange<T> {
  /** Writes the command line(s) at once; throwing rejects the exchange with nothing written. */
  write(): void;
  /** Reads the replies to what write() wrote, once every earlier entry has read its own. */
  read(): Promise<T>;
  /**
   * Optional, used instead of read() when present: reads the replies and
   * settles `outcome` once, maybe before returning. With no promise
   * between one reply and the next command's read, a burst of replies
   * that arrived together is handed out in one go (see
   * ControlConnection.awaitReply).
   */
  readInto?(outcome: ReadOutcome<T>): void;
}

export interface CommandQueueOptions {
  /** Most pipelined exchanges written and waiting for replies at once. Default 1. */
  window?: number;
  /** Runs a burst of writes, so they can leave in one segment (the client corks the socket). */
  batch?: (writes: () => void) => void;
}

/**
 * One queued call: an exclusive task, or a pipelined exchange. It is the
 * outcome its read settles (ReadOutcome), so a pending call is this
 * object and its promise, with no closure per call.
 */
class Entry implements ReadOutcome<unknown> {
  /** Set once its read settled: a second settle is ignored, as a promise's. */
  private settled = false;

  constructor(
    private readonly queue: CommandQueue | undefined,
    /** The pipelined exchange; undefined for an exclusive task. */
    readonly exchange: PipelinedExchange<unknown> | undefined,
    /** The exclusive task; undefined for a pipelined exchange. */
    readonly task: (() => Promise<unknown>) | undefined,
    private readonly settle: (value: unknown) => void,
    private readonly refuse: (reason: unknown) => void,
    /** An exclusive task's writing ahead of its turn (see CommandQueue.openAhead); true if it wrote. */
    readonly ahead?: () => boolean,
  ) {}

  resolve(value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(value);
    this.queue?.headRead(this);
  }

  reject(reason: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.refuse(reason);
    this.queue?.headRead(this);
  }
}

export class CommandQueue {
  /** Queued, nothing written yet. Only its head may be written next. */
  private readonly toWrite: Entry[] = [];
  /** Written, waiting for replies, oldest first. Only its head reads. */
  private readonly waitingForReply: Entry[] = [];
  /** An exclusive task holds the connection. */
  private exclusive = false;
  private failure: Error | undefined;
  private pumpScheduled = false;
  /** The head of waitingForReply is reading. */
  private headReading = false;
  /** Inside readHeads(): a read that settles at once lets its loop start the next. */
  private readingHeads = false;
  private readonly window: number;
  private readonly batch: (writes: () => void) => void;
  /** The running exclusive task said the next may write ahead of its turn (openAhead); until it settles. */
  private aheadOpen = false;

  constructor(options: CommandQueueOptions = {}) {
    this.window = options.window ?? 1;
    this.batch = options.batch ?? ((writes) => writes());
  }

  /** Number of entries not yet written (or started). */
  get length(): number {
    return this.toWrite.length;
  }

  /** Number of pipelined exchanges written and waiting for their replies. */
  get inFlight(): number {
    return this.waitingForReply.length;
  }

  /** True while anything holds the connection: an exclusive task, or written exchanges. */
  get running(): boolean {
    return this.exclusive || this.waitingForReply.length > 0;
  }

  /**
   * Queues an exclusive `task`; settles as the task does, or rejects if the
   * queue is failed first. With `now`, a task that finds the queue idle
   * starts before run() returns, not on a microtask: for calls that are
   * never made from a constructor (see startExclusive).
   */
  run<T>(task: () => Promise<T>, now = false, ahead?: () => boolean): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const entry = new Entry(undefined, undefined, task, resolve as (value: unknown) => void, reject, ahead);
      if (now && !this.exclusive && this.toWrite.length === 0 && this.waitingForReply.length === 0) {
        this.exclusive = true;
        runTask(entry, this.afterExclusive);
        return;
      }
      this.toWrite.push(entry);
      if (this.toWrite.length === 1) this.writeAhead();
      this.pump();
    });
  }

  /**
   * Called by the running exclusive task once it has written its last
   * command (a transfer that wrote its EPSV and command): the next task,
   * if it may go ahead, writes its commands now instead of after the
   * running one's final reply (a round trip less per transfer). At most
   * one task is written ahead of the running one.
   */
  openAhead(): void {
    if (!this.exclusive) return;
    this.aheadOpen = true;
    this.writeAhead();
  }

  /** Lets the head of toWrite write ahead of its turn, once, if the running task allows it. */
  private writeAhead(): void {
    if (!this.aheadOpen) return;
    const head = this.toWrite[0];
    if (!head?.ahead) return;
    // One entry at most: the one behind it waits until this one, in its turn, opens ahead.
    this.aheadOpen = false;
    try {
      head.ahead();
    } catch {
      // Nothing written: the task writes its commands in its turn, as usual.
    }
  }

  /**
   * Queues a pipelined exchange; settles as its read does. Writing waits for
   * the end of the current tick, so exchanges queued together are written
   * together.
   */
  pipeline<T>(exchange: PipelinedExchange<T>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.toWrite.push(new Entry(this, exchange, undefined, resolve as (value: unknown) => void, reject));
      this.schedulePump();
    });
  }

  /**
   * Rejects every entry not yet written with `error`, once, and every later
   * one too. Entries already written fail through their connection: the
   * server may have run them, so they are not the queue's to fail.
   */
  fail(error: Error): void {
    if (!this.failure) this.failure = error;
    const waiting = this.toWrite.splice(0);
    for (const entry of waiting) entry.reject(error);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // After the microtasks of this tick: replies that arrived together have
    // all been read by then, so the commands they make room for are
    // written together too.
    process.nextTick(this.scheduledPump);
  }

  private readonly scheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  /** Moves entries from the head of toWrite as far as the rules allow. */
  private pump(): void {
    if (this.exclusive || this.toWrite.length === 0) return;
    if (!this.toWrite[0].exchange) {
      if (this.waitingForReply.length === 0) this.startExclusive(this.toWrite.shift()!);
      return;
    }
    this.batch(this.writeWindow);
    // An exclusive task behind the written ones starts once they are answered.
  }

  /** Writes entries from the head of toWrite while the window has room (inside batch()). */
  private readonly writeWindow = (): void => {
    while (this.toWrite.length > 0 && this.waitingForReply.length < this.window) {
      const entry = this.toWrite[0];
      if (!entry.exchange) break;
      this.toWrite.shift();
      try {
        entry.exchange.write();
      } catch (error) {
        entry.reject(error);
        continue;
      }
      this.waitingForReply.push(entry);
      if (this.waitingForReply.length === 1) this.readHeads();
    }
  };

  private startExclusive(entry: Entry): void {
    this.exclusive = true;
    // Start on a microtask: a task queued from a constructor must not run
    // before the constructor has finished. A resolved promise's reaction,
    // not queueMicrotask(): that wraps each callback in an AsyncResource
    // (made, bound, entered and destroyed per call), about 5 % of the
    // library's own CPU per file in a fresh process's first thousand.
    void RESOLVED.then(() => runTask(entry, this.afterExclusive));
  }

  /** An exclusive task settled: the next entries may go. */
  private readonly afterExclusive = (): void => {
    this.exclusive = false;
    this.aheadOpen = false;
    this.pump();
  };

  /**
   * The head of waitingForReply reads its replies; once it has settled,
   * the next one does. A loop, not a recursion: a thousand reads that
   * settle at once (replies already held, or a failed connection) must not
   * take a thousand stack frames.
   */
  private readHeads(): void {
    if (this.readingHeads) return;
    this.readingHeads = true;
    try {
      while (!this.headReading && this.waitingForReply.length > 0) {
        this.headReading = true;
        startRead(this.waitingForReply[0]);
      }
    } finally {
      this.readingHeads = false;
    }
  }

  /** `entry`, the reading head, has settled (Entry.resolve/reject): the next one reads. */
  headRead(entry: Entry): void {
    // An entry that never got written (its write threw, or fail()) is no head.
    if (this.waitingForReply[0] !== entry) return;
    this.waitingForReply.shift();
    this.headReading = false;
    // Refill a window only once half of it is answered: commands then
    // leave in bursts, one write each, instead of one write per reply.
    if (this.waitingForReply.length <= this.window >> 1) this.schedulePump();
    this.readHeads();
  }
}

/** Starts a written entry's read; a throw counts as a rejection. */
function startRead(entry: Entry): void {
  const exchange = entry.exchange!;
  try {
    if (exchange.readInto) {
      exchange.readInto(entry);
      return;
    }
    exchange.read().then(
      (value) => entry.resolve(value),
      (error: unknown) => entry.reject(error),
    );
  } catch (error) {
    entry.reject(error);
  }
}

/**
 * Runs an exclusive task (a throw counts as a rejection), settles its
 * caller's promise, then calls `after`. One callback each way rather than
 * a chain of then/finally: this runs for every call on the client.
 */
function runTask(entry: Entry, after: () => void): void {
  let running: Promise<unknown>;
  try {
    running = entry.task!();
  } catch (error) {
    entry.reject(error);
    after();
    return;
  }
  running.then(
    (value) => {
      entry.resolve(value);
      after();
    },
    (error: unknown) => {
      entry.reject(error);
      after();
    },
  );
}
