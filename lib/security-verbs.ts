/**
 * Commands that change what a session protects or who is logged in, read
 * as a server reads them: the client must send them itself, in their own
 * exchange, so that its idea of the connection stays the server's.
 */

/**
 * A command line's verb and argument as a server reads them, upper-cased
 * and without the blanks around them (`" prot  p"` is PROT P): what a
 * server may take a line for decides how it may be sent.
 */
export function commandParts(line: string): { verb: string; arg: string } {
  const match = /^[ \t]*(\S*)[ \t]*(.*?)[ \t]*$/s.exec(line)!;
  return { verb: match[1].toUpperCase(), arg: match[2].toUpperCase() };
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
 * whose verb is one of NOT_TRANSFERS; the line itself is not shown (it
 * may hold a password).
 */
export function assertTransferCommand(line: string): void {
  const { verb } = commandParts(line);
  if (!NOT_TRANSFERS.has(verb)) return;
  throw Object.assign(
    new TypeError(`${verb} starts no transfer: it changes the session's protection or login, which only the client's own methods may send`),
    { code: "ERR_INVALID_ARG_VALUE" },
  );
}
