/**
 * ftplib's error taxonomy as classes. Branch on `instanceof` or on `code`:
 * a number when the server's reply is known (550), a stable string otherwise.
 */

/** Base class of every error ftpstream raises. */
export class FtpError extends Error {
  /** The reply code (e.g. 550) when a reply is known, else a stable string such as `"ERR_FTP_TIMEOUT"`. */
  readonly code: number | string;
  /** The server's full reply text (lines joined by `\n`), or `""` when there was no reply. */
  readonly response: string;

  constructor(message: string, code: number | string, response = "", options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.response = response;
  }
}

function replyCode(response: string): number | string {
  const code = Number.parseInt(response.slice(0, 3), 10);
  return Number.isNaN(code) ? "ERR_FTP_PROTOCOL" : code;
}

/** Marks errors that are also "an unexpected reply" while being a 4xx/5xx (see {@link FtpReplyError}). */
const unexpectedReply = Symbol("ftpstream.unexpectedReply");

/** A reply the operation did not expect (ftplib's `error_reply`), e.g. a 2xx where a 3xx was needed. */
export class FtpReplyError extends FtpError {
  constructor(response: string) {
    super(response, replyCode(response), response);
  }

  // A refused REST is both a 4xx/5xx (FtpTempError/FtpPermError, as ftplib
  // raises it) and "the server would not do what the transfer needed"; code
  // written either way should catch it, so such errors answer to both classes.
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === FtpReplyError && typeof value === "object" && value !== null && unexpectedReply in value;
  }
}

/** A 4xx reply: transient failure (ftplib's `error_temp`). */
export class FtpTempError extends FtpError {
  constructor(response: string) {
    super(response, replyCode(response), response);
  }
}

/** A 5xx reply: permanent failure (ftplib's `error_perm`). */
export class FtpPermError extends FtpError {
  constructor(response: string) {
    super(response, replyCode(response), response);
  }
}

/** Bytes from the server that are not a valid reply (ftplib's `error_proto`). */
export class FtpProtoError extends FtpError {
  constructor(message: string, response = "") {
    super(message, response ? replyCode(response) : "ERR_FTP_PROTOCOL", response);
  }
}

/** A connect, reply or data-connection wait ran past the configured `timeout`; the client is closed. */
export class FtpTimeoutError extends FtpError {
  constructor(message: string) {
    super(message, "ERR_FTP_TIMEOUT");
  }
}

/** The control or data connection failed at the socket level; `cause` holds the socket's error. */
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

/** The client was closed (by `close()`, `quit()`, a timeout or a dropped connection) and cannot be used. */
export class FtpClosedError extends FtpError {
  constructor(message = "the FTP client is closed", cause?: unknown) {
    super(message, "ERR_FTP_CLOSED", "", { cause });
  }
}

/**
 * A transfer completed with fewer or more bytes than it should have. A
 * download (see `DownloadOptions.verifySize`): `expected` is the size the
 * server announced, `received` the bytes that came. An upload (only with
 * `UploadOptions.verifySize`): `expected` is the size the file should have
 * after it, `received` the size SIZE gave.
 */
export class FtpSizeMismatchError extends FtpError {
  constructor(
    readonly expected: number,
    readonly received: number,
    response: string,
    message = `transfer ended after ${received} bytes but the server announced ${expected}`,
  ) {
    super(message, "ERR_FTP_SIZE_MISMATCH", response);
  }
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

/** A 4xx/5xx reply error that also answers `instanceof FtpReplyError` (a refused REST). */
export function unexpectedFailure(response: string): FtpError {
  const error = errorForReply(response);
  Object.defineProperty(error, unexpectedReply, { value: true });
  return error;
}
