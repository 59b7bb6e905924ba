/**
 * Which failures of a tree job another attempt of the job may cure, and
 * how the others reach the queue: as an error named `UnrecoverableError`,
 * which BullMQ (5.0 on: Job.moveToFailed / shouldRetryJob compares
 * `err.name`) fails at once, whatever attempts are left. Without it every
 * refused login was tried `attempts` times per job (3 by default), and a
 * server that locks an account after a few refused logins locked it.
 *
 * The rule is the library's own (retry.ts's isTransient: a dropped, reset
 * or timed-out connection, a 4xx, 421 included, a short transfer), and the
 * pool's (isConnectionLimit: a 530 that says the server holds too many
 * connections), plus what a job's next attempt starts afresh and a call's
 * retry cannot: a new client (the one the job used was closed under it: a
 * lapsed connection lease, a pool closed by a worker's shutdown), and a
 * new read of the local file (it changed while it was sent). Anything
 * else of ftpstream's (a 5xx such as a refused login, a refused path, a
 * missing password, a bound reached, a bad job) meets the same refusal
 * again. An error that is not ftpstream's (the local disk's, Redis's) is
 * left to the queue's attempts, as before: nothing here knows it.
 */
import { FtpError } from "./errors.js";
import { isConnectionLimit } from "./pool.js";
import { isTransient } from "./retry.js";

/**
 * Codes of failures isTransient leaves alone (a call cannot be run again
 * past them) that a job's next attempt starts afresh from: a closed client
 * or pool (the next attempt gets a new connection), a local file that
 * changed or was replaced while it was sent (read again from its start),
 * a part file another run of the same file took or wrote at once (a
 * stalled lock ran the job twice: the next attempt compares the target
 * afresh, and skips it once the other run finished it), a count that
 * disagreed with the size (the file changed while it moved; counted again).
 */
const CURED_BY_A_NEW_ATTEMPT = new Set([
  "ERR_FTP_CLOSED",
  "ERR_FTP_POOL_CLOSED",
  "ERR_FTP_ABORTED",
  "ERR_FTP_SOURCE_CHANGED",
  "ERR_FTP_PART_FILE",
  "ERR_FTP_SIZE_MISMATCH",
]);

/** Whether the job that failed with `error` may succeed when run again (see the module's comment). */
export function jobMayRecover(error: unknown): boolean {
  if (!(error instanceof FtpError)) return true;
  return CURED_BY_A_NEW_ATTEMPT.has(error.code) || isTransient(error) || isConnectionLimit(error);
}

/**
 * A tree job's failure that running the job again cannot cure: thrown by
 * the job processor in place of `cause`, the error itself. Its `name` is
 * `"UnrecoverableError"`, which is how BullMQ knows to fail the job at
 * once, and its message is `cause`'s behind its code (`"ERR_FTP_PERM: 530
 * Login incorrect."`), so the job's `failedReason` says both. `code`,
 * `replyCode` and `response` are `cause`'s.
 */
export class FtpUnrecoverableJobError extends FtpError {
  declare readonly cause: FtpError;

  constructor(cause: FtpError) {
    super(`${cause.code}: ${cause.message}`, cause.code, cause.response, { cause });
    // BullMQ's contract, by name so that no class of it is imported here.
    this.name = "UnrecoverableError";
  }
}

/** `error` as a job processor throws it: marked unrecoverable when running the job again cannot cure it (see jobMayRecover). */
export function asJobFailure(error: unknown): unknown {
  if (jobMayRecover(error) || error instanceof FtpUnrecoverableJobError) return error;
  return new FtpUnrecoverableJobError(error as FtpError);
}

/** Whether `error`, as a job failed with it, fails the job without another attempt (see FtpUnrecoverableJobError). */
export function failsAtOnce(error: unknown): boolean {
  return error instanceof Error && error.name === "UnrecoverableError";
}
