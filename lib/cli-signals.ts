/**
 * How the `ftpstream` commands that move files (get, cat, put, mirror,
 * mirror --queue) end on SIGINT, SIGTERM or SIGHUP: cron's kill, a Ctrl-C,
 * the terminal or ssh session closed under it. Left to Node's default, the process died at once with nothing said: `get` left
 * its hidden part file, `put` a partial remote file, `mirror` every
 * running file's part. Here the command's AbortSignal is aborted (its
 * transfers end, no more start, nothing more is deleted) and the
 * connections it tracks are closed at once, whatever the server does with
 * an ABOR; the command cleans up what it started, then rejects with
 * StoppedBySignal, and main() exits with SIGNAL_STATUS, naming the signal.
 * A second signal exits at once, leaving what it finds.
 */
import { onAbortOf } from "./abort-signal.js";
import type { FTP } from "./client.js";

/** The exit status of a run stopped by SIGHUP, SIGINT or SIGTERM: 128 + the signal's number, as a shell reports a process it killed. */
export const SIGNAL_STATUS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/** The signals a command stops on. */
export type StopSignalName = keyof typeof SIGNAL_STATUS;

/** What stopped a command: SIGHUP, SIGINT or SIGTERM. Its message says what the command left behind. */
export class StoppedBySignal extends Error {
  constructor(
    readonly signal: StopSignalName,
    outcome: string,
  ) {
    super(`stopped by ${signal}: ${outcome}`);
  }
}

/** A command's hold on SIGHUP, SIGINT and SIGTERM while it runs (see stopOnSignal). */
export interface SignalStop {
  /** Aborted on the first signal, with a StoppedBySignal as its reason. */
  readonly signal: AbortSignal;
  /**
   * The client `connecting` resolves to, closed at once on a signal. A
   * signal while it connects rejects at once with the signal's reason (the
   * client is closed once it comes): a connection opened after the signal,
   * to try a transfer again, is not used.
   */
  track(connecting: Promise<FTP>): Promise<FTP>;
  /**
   * As track, but the client is not closed on a later signal: the command
   * ends its transfer through `signal` and cleans up on that connection
   * (put deletes its remote part). Only its connecting is cut short.
   */
  connect(connecting: Promise<FTP>): Promise<FTP>;
  /**
   * Runs the command's `work`, then lets the signals go (see stopOnSignal).
   * Once a signal came, it rejects with a StoppedBySignal naming it and
   * the outcome (see completed) whatever `work` ended with: the transfers the signal cut fail with
   * closed connections and aborts, which are not what stopped the run.
   */
  run<T>(work: () => Promise<T>): Promise<T>;
  /**
   * The command's transfer is complete (the file renamed into place, the
   * 226 come): a signal from now on, or one that came while it completed,
   * is reported with `outcome` instead of what a cut run leaves.
   */
  completed(outcome: string): void;
}

/**
 * Holds SIGHUP, SIGINT and SIGTERM for one command (SIGHUP too: left to
 * Node's default, a closed terminal or a dropped ssh session killed the
 * run at once, its part files left behind); `cutOutcome` says what a run
 * stopped before its transfer was complete leaves behind (mirror: "no more files started, nothing deleted").
 * After `run`, a signal ends the process as Node's default does, unless
 * one came during it: then the process is ending anyway, and a second
 * signal must still exit at once.
 */
export function stopOnSignal(cutOutcome: string): SignalStop {
  let outcome = cutOutcome;
  const controller = new AbortController();
  // The signal's reason, typed: what every stopped step rejects with.
  let stoppedBy: StoppedBySignal | undefined;
  const clients = new Set<FTP>();
  const onSignal = (signal: StopSignalName): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`ftpstream: ${signal} again: exiting at once\n`);
      process.exit(SIGNAL_STATUS[signal]);
    }
    stoppedBy = new StoppedBySignal(signal, outcome);
    controller.abort(stoppedBy);
    for (const client of clients) client.close();
  };
  // A signal while connecting rejects at once: a server that never answers must not hold the exit until the timeout.
  const connected = (connecting: Promise<FTP>, closeOnSignal: boolean): Promise<FTP> =>
    new Promise<FTP>((resolve, reject) => {
      const stopWatching = onAbortOf(controller.signal, () => reject(stoppedBy ?? new Error("stopped")));
      connecting.then(
        (client) => {
          stopWatching();
          if (stoppedBy) {
            client.close();
            reject(stoppedBy);
            return;
          }
          if (closeOnSignal) clients.add(client);
          resolve(client);
        },
        (error: Error) => {
          stopWatching();
          reject(error);
        },
      );
    });
  const listeners = (Object.keys(SIGNAL_STATUS) as StopSignalName[]).map((signal) => {
    const listener = (): void => onSignal(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return {
    signal: controller.signal,
    track: (connecting) => connected(connecting, true),
    connect: (connecting) => connected(connecting, false),
    run: async (work) => {
      try {
        const result = await work();
        if (stoppedBy) throw new StoppedBySignal(stoppedBy.signal, outcome);
        return result;
      } catch (error) {
        throw stoppedBy ? new StoppedBySignal(stoppedBy.signal, outcome) : error;
      } finally {
        if (!stoppedBy) for (const [signal, listener] of listeners) process.removeListener(signal, listener);
      }
    },
    completed: (done) => {
      outcome = done;
    },
  };
}
