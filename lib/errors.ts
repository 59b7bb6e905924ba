/**
 * ftplib's error taxonomy as classes. Branch on `instanceof` or on `code`,
 * a stable string (`"ERR_FTP_PERM"`, `"ERR_FTP_TIMEOUT"`, ...); the server's
 * reply number, when there was a reply, is in `replyCode`.
 *
 * `instanceof` holds across copies of the library: an app may load the ESM
 * build through `import` and the CommonJS build through `require` (two
 * dependencies, one each), and an error made by one must still match the
 * classes of the other. As undici does, each class stamps its prototype with
 * a brand from the global symbol registry (`Symbol.for("ftpstream.<Class>")`,
 * the same symbol in every copy) and `instanceof` looks for the brand instead
 * of one particular prototype object. Subclasses inherit their parents'
 * brands through the prototype chain, so `FtpPermError` still is an `FtpError`.
 */
import type { DirTransferResult } from "./tree-types.js";

/** The static that names each class's brand; set once per class by {@link brand}. */
const kBrand = Symbol("ftpstream.brand");

type Branded = { [kBrand]?: symbol };

/** Stamps `cls.prototype` with `Symbol.for("ftpstream.<name>")` and records it as the class's brand. */
function brand(cls: abstract new (...args: never[]) => FtpError, name: string): void {
  const symbol = Symbol.for(`ftpstream.${name}`);
  Object.defineProperty(cls.prototype, symbol, { value: true });
  Object.defineProperty(cls, kBrand, { value: symbol });
}

/** The number at the start of a reply (`550` for `"550 No such file."`), or null when there is none. */
function replyNumber(response: string): number | null {
  return /^\d{3}/.test(response) ? Number(response.slice(0, 3)) : null;
}

/** Base class of every error ftpstream raises. */
export class FtpError extends Error {
  /**
   * A stable string saying what went wrong: `"ERR_FTP_PERM"` (5xx),
   * `"ERR_FTP_TEMP"` (4xx), `"ERR_FTP_REPLY"`, `"ERR_FTP_PROTO"`,
   * `"ERR_FTP_TIMEOUT"`, `"ERR_FTP_CLOSED"`, `"ERR_FTP_SIZE_MISMATCH"`,
   * `"ERR_FTP_TELNET_IAC"` (a command holding byte 0xFF not sent: see
   * {@link telnetIacRefused}), ...;
   * for {@link FtpConnectionError} the socket's own code (`"ECONNRESET"`).
   */
  readonly code: string;
  /** The number of the server's reply in {@link response} (e.g. 550), or null when there was no reply. */
  readonly replyCode: number | null;
  /** The server's full reply text (lines joined by `\n`), or `""` when there was no reply. */
  readonly response: string;

  constructor(message: string, code: string, response = "", options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.replyCode = replyNumber(response);
    this.response = response;
  }

  // One check for every class: does `value` carry this class's brand? A
  // subclass defined outside this module has no brand of its own and gets
  // the ordinary prototype check.
  static override [Symbol.hasInstance](this: Branded & (abstract new (...args: never[]) => unknown), value: unknown): boolean {
    const own = Object.prototype.hasOwnProperty.call(this, kBrand) ? this[kBrand] : undefined;
    if (own === undefined) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (typeof value === "object" || typeof value === "function") && value !== null && own in value;
  }
}
brand(FtpError, "FtpError");

/** A reply the operation did not expect (ftplib's `error_reply`), e.g. a 2xx where a 3xx was needed. */
export class FtpReplyError extends FtpError {
  declare readonly code: "ERR_FTP_REPLY" | "ERR_FTP_TEMP" | "ERR_FTP_PERM";
  constructor(response: string) {
    super(response, "ERR_FTP_REPLY", response);
  }
}
brand(FtpReplyError, "FtpReplyError");

/** A 4xx reply: transient failure (ftplib's `error_temp`). */
export class FtpTempError extends FtpError {
  declare readonly code: "ERR_FTP_TEMP";
  constructor(response: string) {
    super(response, "ERR_FTP_TEMP", response);
  }
}
brand(FtpTempError, "FtpTempError");

/** A 5xx reply: permanent failure (ftplib's `error_perm`). */
export class FtpPermError extends FtpError {
  declare readonly code: "ERR_FTP_PERM";
  constructor(response: string) {
    super(response, "ERR_FTP_PERM", response);
  }
}
brand(FtpPermError, "FtpPermError");

/** Bytes from the server that are not a valid reply (ftplib's `error_proto`). */
export class FtpProtoError extends FtpError {
  declare readonly code: "ERR_FTP_PROTO";
  constructor(message: string, response = "") {
    super(message, "ERR_FTP_PROTO", response);
  }
}
brand(FtpProtoError, "FtpProtoError");

/** A connect, reply or data-connection wait ran past the configured `timeout`; the client is closed. */
export class FtpTimeoutError extends FtpError {
  declare readonly code: "ERR_FTP_TIMEOUT";
  constructor(message: string) {
    super(message, "ERR_FTP_TIMEOUT");
  }
}
brand(FtpTimeoutError, "FtpTimeoutError");

/**
 * The control or data connection failed at the socket level; `cause` holds
 * the socket's error and `code` its code (`"ECONNRESET"`, `"ECONNREFUSED"`,
 * ...), or `"ERR_FTP_CONNECTION"` when it had none.
 */
export class FtpConnectionError extends FtpError {
  constructor(message: string, cause?: unknown) {
    const code =
      typeof cause === "object" && cause !== null && typeof (cause as { code?: unknown }).code === "string"
        ? (cause as { code: string }).code
        : "ERR_FTP_CONNECTION";
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    super(message + detail, code, "", { cause });
  }
}
brand(FtpConnectionError, "FtpConnectionError");

/**
 * A PROT P download's or listing's data connection whose TLS layer ended
 * without the server's close_notify: the TCP connection closed (a FIN, or
 * a reset after it) with the TLS stream still open, so whoever closed it
 * may have cut the data short, and a final 2xx after it proves nothing.
 * Every server tested (vsftpd, proftpd, pure-ftpd, pyftpdlib) sends
 * close_notify before closing. A cut data connection like any other:
 * transient under `retry`, which resumes the download.
 */
export class FtpTlsTruncatedError extends FtpConnectionError {
  declare readonly code: "ERR_FTP_TLS_TRUNCATED";
  constructor(message = "the data connection ended without TLS close_notify: the transfer may be truncated") {
    super(message);
    (this as { code: string }).code = "ERR_FTP_TLS_TRUNCATED";
  }
}
brand(FtpTlsTruncatedError, "FtpTlsTruncatedError");

/**
 * A PROT P data connection whose TLS session was not resumed from the
 * control connection's and whose certificate is not the control
 * connection's (FileZilla refuses the same): with certificate
 * verification off (`rejectUnauthorized: false`), the control
 * connection's certificate is what binds the data connection to the
 * server logged in to. Nothing was read from it or written to it. A
 * failure to secure the connection (see markSecurityFailure): not
 * transient under `retry`, and reported by an FtpPool.
 */
export class FtpDataCertificateError extends FtpError {
  declare readonly code: "ERR_FTP_DATA_CERTIFICATE";
  constructor(message: string) {
    super(message, "ERR_FTP_DATA_CERTIFICATE");
  }
}
brand(FtpDataCertificateError, "FtpDataCertificateError");

/** The client was closed (by `close()`, `quit()`, a timeout or a dropped connection) and cannot be used. */
export class FtpClosedError extends FtpError {
  declare readonly code: "ERR_FTP_CLOSED";
  constructor(message = "the FTP client is closed", cause?: unknown) {
    super(message, "ERR_FTP_CLOSED", "", { cause });
  }
}
brand(FtpClosedError, "FtpClosedError");

/**
 * A download written ahead of its turn (TransferStreamOptions.writeAhead)
 * that never ran: the transfer in front of it was aborted, which closes
 * the connection (ABOR would have reached the server behind it). Nothing
 * of it was received; it may be run again on another connection.
 */
export class FtpAheadDroppedError extends FtpClosedError {
  constructor(message = "closed to abort the transfer in front of this one, which was written behind it") {
    super(message);
  }
}
brand(FtpAheadDroppedError, "FtpAheadDroppedError");

/**
 * A transfer completed with fewer or more bytes than it should have. A
 * download (see `DownloadOptions.verifySize`): `expected` is the size the
 * server announced, `received` the bytes that came. An upload (only with
 * `UploadOptions.verifySize`): `expected` is the size the file should have
 * after it, `received` the size SIZE gave.
 */
export class FtpSizeMismatchError extends FtpError {
  declare readonly code: "ERR_FTP_SIZE_MISMATCH";
  constructor(
    readonly expected: number,
    readonly received: number,
    response: string,
    message = `transfer ended after ${received} bytes but the server announced ${expected}`,
  ) {
    super(message, "ERR_FTP_SIZE_MISMATCH", response);
  }
}
brand(FtpSizeMismatchError, "FtpSizeMismatchError");

/**
 * Under the `retry` option, an upload that cannot be resumed: the server
 * holds `stored` bytes of it (null: SIZE gave no answer), and the bytes
 * from there on are no longer at hand. A one-shot source (a stream) keeps
 * only the last 16 MiB it sent (`keptFrom`..`sent` are the upload's
 * offsets still kept); a Buffer or string source keeps all of it. An APPE
 * upload also needs the file's size before it began. Retried while the
 * server's size may still grow into what is kept (the old connection's
 * bytes on their way); else it fails the upload at once.
 *
 * Also, never retried, an upload whose `stored` bytes on the server are not
 * its own: the last of them (up to 16 KiB, read back before resuming)
 * differ from those it sent there, or could not be read back (RETR
 * refused, REST not honoured) or compared (none of them still kept), and
 * it cannot start over (an APPE, or a stream source past its first 16
 * MiB). The message says what was found; nothing more was sent.
 */
export class FtpResumeError extends FtpError {
  declare readonly code: "ERR_FTP_RESUME";
  constructor(
    readonly stored: number | null,
    readonly keptFrom: number,
    readonly sent: number,
    message: string,
  ) {
    super(message, "ERR_FTP_RESUME");
  }
}
brand(FtpResumeError, "FtpResumeError");

/** One path that failed in a tree transfer, and why. */
export interface FtpPathFailure {
  /** The path below the tree's root (`a/b.txt`). */
  path: string;
  error: Error;
}

/** A line break: what a path shown on a line of its own must not hold as it is (other control characters are the printer's to escape, as the CLI does). */
const LINE_BREAK = /[\r\n]/;

/**
 * A tree transfer (downloadDir, uploadDir) in which some files or
 * directories failed, thrown after all the others were done. Like
 * AggregateError, `errors` holds each error; `failures` pairs each with its
 * path, and `result` counts what did get done.
 */
export class FtpDirTransferError extends FtpError {
  declare readonly code: "ERR_FTP_DIR_TRANSFER";
  readonly errors: Error[];

  constructor(
    what: string,
    readonly failures: readonly FtpPathFailure[],
    readonly result: DirTransferResult,
  ) {
    // One line a failure: a path holding a line break (a name is any bytes but `/` and NUL) is quoted,
    // else its second line would read as another failure, or as anything (the CLI prints this message).
    const lines = failures.map(
      ({ path, error }) => `  ${LINE_BREAK.test(path) ? JSON.stringify(path) : path}: ${error.message.split("\n")[0]}`,
    );
    super(`${what}: ${failures.length} failed\n${lines.join("\n")}`, "ERR_FTP_DIR_TRANSFER");
    this.errors = failures.map(({ error }) => error);
  }
}
brand(FtpDirTransferError, "FtpDirTransferError");

/**
 * A path refused before anything was sent or written: it climbs out of
 * where it should stay (`..` in any spelling), names the root, holds a
 * separator or NUL where one name was expected, would be written
 * through a link already in a local target, or (a tree download's
 * "same-file") over a local file the same run wrote under another name,
 * as a disk that folds letter case does. `reason` says which.
 * `"directory"`: a download's local target is a directory, which a file
 * cannot replace: refused before anything is fetched.
 * `"undecodable"`: a tree transfer's name that no string of Node's fs
 * names exactly: a local name whose bytes are not UTF-8 (read with U+FFFD
 * in their place, it reaches another file or none), a local directory
 * holding two names that read alike, or a remote name holding bytes its
 * encoding did not decode, which a download would write under another
 * local name. `path` shows such bytes escaped as U+DC80..U+DCFF (see
 * text-codec.ts), the message as `\xNN`.
 * `"ambiguous"`: removeDir or clearDir of a path whose name its parent's
 * LIST shows in two ways a server may open it by (`dir ` beside `dir`,
 * which a server trimming its argument opens; a link line whose ` -> `
 * may part name from target at another place): nothing is deleted.
 * `"name-too-long"`: a local name a download would write that is longer
 * than a file name may be (NAME_MAX: 255 bytes of UTF-8; on Windows 255
 * UTF-16 units), or whose part file's name the disk refuses as too long:
 * refused before a byte of it is fetched, the message saying which name.
 */
export class FtpPathError extends FtpError {
  declare readonly code: "ERR_FTP_BAD_PATH";
  constructor(
    readonly path: string,
    readonly reason:
      | "climbs"
      | "root"
      | "separator"
      | "nul"
      | "link"
      | "special"
      | "not-a-directory"
      | "directory"
      | "same-file"
      | "undecodable"
      | "ambiguous"
      | "name-too-long",
    message: string,
  ) {
    super(message, "ERR_FTP_BAD_PATH");
  }
}
brand(FtpPathError, "FtpPathError");

/**
 * A listing held lines the parser could not read (`lines`, as sent), so
 * what the directory holds is not fully known. list() and walk() raise it
 * unless the caller chose otherwise (`onUnreadable`); a tree transfer with
 * `delete` deletes nothing in such a directory and records this error
 * against it.
 */
export class FtpListingError extends FtpError {
  declare readonly code: "ERR_FTP_LISTING";
  constructor(
    readonly path: string,
    readonly lines: readonly string[],
    /** How many lines could not be read; `lines` keeps the first 100 of them. */
    readonly total = lines.length,
    /** Said instead of the lines, when the listing as a whole is in doubt. */
    why?: string,
  ) {
    const shown = lines
      .slice(0, 3)
      .map((line) => JSON.stringify(line))
      .join(", ");
    super(
      why ?? `the listing of ${JSON.stringify(path)} has ${total} line(s) that could not be read: ${shown}${total > 3 ? ", ..." : ""}`,
      "ERR_FTP_LISTING",
    );
  }
}
brand(FtpListingError, "FtpListingError");

/**
 * A documented bound was reached (what a server sent would have grown
 * memory without end): `limit` names the bound (`"unsolicitedReplies"`,
 * `"listingEntries"`, `"treeEntries"`, `"treeDepth"`, ...) and `max` its value.
 * `"maxFileSize"` is the user's own bound on a download's size (the
 * `maxFileSize` option), which would otherwise grow the disk.
 */
export class FtpLimitError extends FtpError {
  declare readonly code: "ERR_FTP_LIMIT";
  constructor(
    readonly limit: string,
    readonly max: number,
    message: string,
  ) {
    super(message, "ERR_FTP_LIMIT");
  }
}
brand(FtpLimitError, "FtpLimitError");

/**
 * A tree transfer with `delete` (downloadDir, uploadDir) whose plan would
 * remove more entries of the target (files and directories) than its
 * `maxDelete` allows (`reason: "max-delete"`), or would remove any while
 * the source listed nothing at all and no `maxDelete` was given
 * (`reason: "empty-source"`, `maxDelete` 0): nothing was deleted, not even
 * the first of them; the transfers were done. A source that is an
 * unmounted mount point, a remote directory emptied by mistake, or one a
 * server lists as empty because it is missing or unreadable, would
 * otherwise empty the target. Recorded as the failure of the root (`.`)
 * in FtpDirTransferError.
 */
export class FtpDeleteLimitError extends FtpError {
  declare readonly code: "ERR_FTP_DELETE_LIMIT";
  constructor(
    /** How many entries of the target the run would have deleted. */
    readonly wouldDelete: number,
    /** The bound it was given (DirTransferOptions.maxDelete). */
    readonly maxDelete: number,
    /**
     * What it would have deleted, in the order it would have (deepest
     * first, a directory after what it held): a dry run's list of what
     * `delete` wants to remove, which onDelete is not told over the bound.
     */
    readonly entries: ReadonlyArray<{ readonly path: string; readonly type: "file" | "dir" }> = [],
    /** Why: over the bound given, or (no bound given) a source that listed nothing at all. */
    readonly reason: "max-delete" | "empty-source" = "max-delete",
  ) {
    super(
      reason === "empty-source"
        ? `delete would remove ${wouldDelete} entries of the target (files and directories) and the source listed nothing at all ` +
            `(also what a missing, unreadable or unmounted source may look like): nothing was deleted; give maxDelete to allow it`
        : `delete would remove ${wouldDelete} entries of the target (files and directories), more than the ${maxDelete} maxDelete allows: nothing was deleted`,
      "ERR_FTP_DELETE_LIMIT",
    );
  }
}
brand(FtpDeleteLimitError, "FtpDeleteLimitError");

/**
 * The error (an FtpError, code `"ERR_FTP_TELNET_IAC"`) for a command
 * refused before it was sent because its bytes hold 0xFF, the Telnet IAC
 * byte (RFC 959 speaks Telnet on the control connection), and the
 * `telnetIac` option (default `"auto"`) did not say how this server reads
 * it. Servers differ: GNU inetutils and BSD ftpd drop IAC and the byte
 * after it (`DELE a\xffb.txt` deletes `a.txt`), vsftpd and pure-ftpd take
 * IAC IAC as two bytes, proftpd takes both spellings. Sent either way, the
 * command could act on a different name than the one given, so it is not
 * sent at all. The message names the command's verb, never its argument
 * (which may be a password).
 */
export function telnetIacRefused(verb: string): FtpError {
  return new FtpError(
    `${verb} not sent: its bytes hold 0xFF (Telnet IAC), which some servers read as a Telnet command, dropping it and the byte after it, ` +
      `so the server could act on a different name, and nothing told how this server reads it. ` +
      `Set the telnetIac option to "double" (RFC 959: proftpd, GNU inetutils, BSD ftpd) or "raw" (vsftpd, pure-ftpd; ftplib's way) for this server`,
    "ERR_FTP_TELNET_IAC",
  );
}

/**
 * The failure of a tree transfer's `path` (below its root) that no command
 * may carry on its connection: as {@link telnetIacRefused}, but decided
 * with the plan, so that a dry run reports what the real run's command
 * would be refused for.
 */
export function telnetIacInPath(path: string): FtpError {
  return new FtpError(
    `refusing ${JSON.stringify(path)}: its bytes hold 0xFF (Telnet IAC), which some servers read as a Telnet command, ` +
      `so no command naming it is sent to a server nothing told how it reads it. ` +
      `Set the telnetIac option to "double" (RFC 959: proftpd, GNU inetutils, BSD ftpd) or "raw" (vsftpd, pure-ftpd; ftplib's way) for this server`,
    "ERR_FTP_TELNET_IAC",
  );
}

/**
 * Whether `error` is the server's refusal: an FtpError for a reply of 500
 * or more. For SIZE and MDTM that tells nothing is known (no such command,
 * no such file); for a rename, that the server would not do it.
 */
export function isRefusal(error: unknown): error is FtpError {
  return error instanceof FtpError && error.replyCode !== null && error.replyCode >= 500;
}

/** Raises the ftplib error class for a reply: 4xx → FtpTempError, 5xx → FtpPermError, non-1-5 → FtpProtoError. */
export function errorForReply(response: string): FtpError {
  switch (response[0]) {
    case "4":
      return new FtpTempError(response);
    case "5":
      return new FtpPermError(response);
    case "1":
    case "2":
    case "3":
      return new FtpReplyError(response);
    default:
      return new FtpProtoError(response, response);
  }
}

/**
 * A 4xx/5xx reply error that also answers `instanceof FtpReplyError` (a
 * refused REST). It is both a 4xx/5xx (FtpTempError/FtpPermError, as ftplib
 * raises it) and "the server would not do what the transfer needed"; code
 * written either way should catch it, so the error carries FtpReplyError's
 * brand as well as its own class's.
 */
export function unexpectedFailure(response: string): FtpError {
  const error = errorForReply(response);
  Object.defineProperty(error, Symbol.for("ftpstream.FtpReplyError"), { value: true });
  return error;
}

/**
 * A netrc file (the CLI's `--netrc` or `--netrc-file`) that was not used,
 * and why (`reason`): `"syntax"` (a word where none fits, a keyword without
 * its value, an unclosed quote or macdef; `line` says where), `"encoding"`
 * (not UTF-8), `"unreadable"` (missing, not a file, too large), and, for
 * the file `--netrc` reads only, `"permissions"` (it holds a password and
 * its mode lets group or others in) or `"owner"` (it holds a password and
 * another user owns it), the rule of ftp(1) and Python's netrc module.
 * The message names the file and the line, never a value from it: a
 * stray word may be half of an unquoted password.
 */
export class FtpNetrcError extends FtpError {
  declare readonly code: "ERR_FTP_NETRC";
  constructor(
    readonly file: string,
    readonly reason: "syntax" | "encoding" | "unreadable" | "permissions" | "owner",
    /** The line the problem is on (from 1), or null when it is not one line's. */
    readonly line: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, "ERR_FTP_NETRC", "", options);
  }
}
brand(FtpNetrcError, "FtpNetrcError");

/**
 * A login names a user but no password was found for it (not in the URL,
 * the netrc file, or the environment where the CLI was told to look), so
 * nothing was sent: the CLI refuses before connecting rather than log in
 * with an empty password and read the server's 530. `user`, `host` and
 * `port` say which login; the message says where a password may come from.
 */
export class FtpNoPasswordError extends FtpError {
  declare readonly code: "ERR_FTP_NO_PASSWORD";
  constructor(
    readonly user: string,
    readonly host: string,
    readonly port: number,
    message: string,
  ) {
    super(message, "ERR_FTP_NO_PASSWORD");
  }
}
brand(FtpNoPasswordError, "FtpNoPasswordError");

/**
 * A local file a tree upload was to send is not the one its walk found, or
 * changed while it was read: `reason` `"replaced"` (another file, a link, a
 * directory or a special file is at its path now: nothing was sent) or
 * `"changed"` (its size or time moved while it was read, or the bytes read
 * were not its size). A changed file's part is not renamed over the remote
 * copy, which stays as it was; the next run sends the file again.
 *
 * Also a download under `retry` whose resume found the remote file
 * changed (`"changed"`, `path` the remote path): the bytes sent again
 * before the resume point differ from those delivered (replaced by
 * another version, even of the same size), or the file now ends before
 * them. The consumer keeps the old version's first bytes and gets none of
 * the new one's; downloadDir puts nothing in place (its part file goes).
 *
 * Also FtpPool.downloadSegmented (`"changed"`, `path` the remote path)
 * when the remote file's SIZE or MDTM after the last segment is not what
 * it was before the first (or SIZE is refused then): its segments may
 * have read two versions. The part file goes; a file at the local path is
 * left as it was.
 */
export class FtpSourceChangedError extends FtpError {
  declare readonly code: "ERR_FTP_SOURCE_CHANGED";
  constructor(
    readonly path: string,
    readonly reason: "replaced" | "changed",
    message: string,
  ) {
    super(message, "ERR_FTP_SOURCE_CHANGED");
  }
}
brand(FtpSourceChangedError, "FtpSourceChangedError");
