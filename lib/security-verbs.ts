/**
 * Commands that change what a session protects or who is logged in, read
 * as a server reads them: the client must send them itself, in their own
 * exchange, so that its idea of the connection stays the server's; and
 * what marks a failure to secure a connection as one (isSecurityFailure).
 */
import { isCertificateFailure } from "./retry.js";

/**
 * A line's verb and argument, the blanks around them left out. Made once:
 * a regex literal in a function body is a new object at every call, and
 * this runs for every transfer and every pipelined command.
 */
const COMMAND_PARTS = /^\s*(\S*)\s*(.*?)\s*$/s;

/**
 * A command line's verb and argument as a server reads them, upper-cased
 * and without the blanks around them (`" prot  p"` and `"PROT\fP"` are
 * PROT P): what a server may take a line for decides how it may be sent.
 * Blanks are any whitespace, as proftpd splits words (isspace: tab, \v,
 * \f too), so a line is read as a verb wherever some server reads it so;
 * `plain` is false for a verb that is not ASCII letters and digits (see
 * assertPlainVerb).
 */
export function commandParts(line: string): { verb: string; arg: string; plain: boolean } {
  const match = COMMAND_PARTS.exec(line)!;
  return { verb: match[1].toUpperCase(), arg: match[2].toUpperCase(), plain: PLAIN_VERB.test(match[1]) };
}

/** What every FTP verb is (RETR, XSHA256...): ASCII letters and digits. */
const PLAIN_VERB = /^[A-Za-z0-9]*$/;

/**
 * Throws a TypeError (`code` ERR_INVALID_ARG_VALUE) for a line whose verb
 * is not ASCII letters and digits: a server may read another verb in it
 * than the client does (proftpd takes `"PROT" C` for PROT C, quotes and
 * backslashes removed), so the client cannot know whether it changes
 * protection or login. The line itself is not shown (it may hold a
 * password).
 */
export function assertPlainVerb(line: string): void {
  if (commandParts(line).plain) return;
  throw Object.assign(
    new TypeError("a command whose verb is not ASCII letters and digits is not sent: a server may read another verb in it"),
    { code: "ERR_INVALID_ARG_VALUE" },
  );
}

/**
 * Verbs that start no transfer but change the security state (AUTH, PBSZ,
 * PROT, CCC, REIN) or the login (USER, PASS, ACCT). Sent as a transfer's
 * command one got its 2xx and the transfer failed, while the server had
 * gone to clear data, or logged out, behind the client's back.
 */
const NOT_TRANSFERS: ReadonlySet<string> = new Set(["AUTH", "PBSZ", "PROT", "CCC", "REIN", "USER", "PASS", "ACCT"]);

/**
 * Throws a TypeError (`code` ERR_INVALID_ARG_VALUE) for a transfer command
 * whose verb is one of NOT_TRANSFERS, or not plain (assertPlainVerb); the line itself is not shown (it
 * may hold a password).
 */
export function assertTransferCommand(line: string): void {
  const { verb, plain } = commandParts(line);
  if (!plain) assertPlainVerb(line);
  if (!NOT_TRANSFERS.has(verb)) return;
  throw Object.assign(
    new TypeError(`${verb} starts no transfer: it changes the session's protection or login, which only the client's own methods may send`),
    { code: "ERR_INVALID_ARG_VALUE" },
  );
}

/**
 * Brands an error as a failure of securing a connection (see
 * markSecurityFailure): from the global symbol registry, so that a pool
 * of one copy of the library knows the errors of a client of another.
 */
const SECURITY_FAILURE = Symbol.for("ftpstream.securityFailure");

/**
 * Marks `error` as a failure of securing the connection that a new
 * connection must not try to get past: the handshake after a 234 to AUTH
 * TLS met something that is no TLS, or AUTH TLS, PBSZ or PROT P was
 * refused. A downgrade looks like that, from a server or from someone
 * between; a timed-out or dropped handshake is the network's, and is not
 * marked. Returns `error`.
 */
export function markSecurityFailure<E>(error: E): E {
  if (typeof error === "object" && error !== null && !Object.isFrozen(error)) {
    Object.defineProperty(error, SECURITY_FAILURE, { value: true, configurable: true });
  }
  return error;
}

/**
 * Whether `error` is a failure of securing the connection: a refused
 * certificate (isCertificateFailure) or one marked by markSecurityFailure.
 * Not transient, whatever its class: another connection would meet the
 * same server (or the same attacker), and one that got through would hide
 * the failure from the user.
 */
export function isSecurityFailure(error: unknown): boolean {
  if (isCertificateFailure(error)) return true;
  return typeof error === "object" && error !== null && (error as { [SECURITY_FAILURE]?: unknown })[SECURITY_FAILURE] === true;
}
