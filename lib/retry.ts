/**
 * The retry policy (opt-in `retry` option): which failures are worth
 * another attempt and how long to wait before the next attempt
 * (exponential backoff with full jitter). Which calls may run twice is
 * said where each is queued (FTP.enqueue's `repeat`): the library's own
 * commands that are harmless twice, never a line given to sendcmd.
 */
import { FtpConnectionError, FtpError, FtpResumeError, FtpSizeMismatchError, FtpTempError, FtpTimeoutError } from "./errors.js";

/** The `retry` option of {@link FtpOptions}. */
export interface RetryOptions {
  /** Attempts after the first one fails: 0 means none. */
  attempts: number;
  /** Shortest wait before a retry, in ms. Default 250. */
  minDelay?: number;
  /** Longest wait before a retry, in ms. Default 10000. */
  maxDelay?: number;
}

/** What a `'retry'` event carries: the attempt about to be made (1 = the first retry), the wait before it and the error that caused it. */
export interface RetryEvent {
  attempt: number;
  delay: number;
  error: FtpError;
}

const DEFAULT_MIN_DELAY = 250;
const DEFAULT_MAX_DELAY = 10_000;

export class RetryPolicy {
  readonly attempts: number;
  readonly minDelay: number;
  readonly maxDelay: number;

  constructor(
    options: RetryOptions,
    private readonly random: () => number = Math.random,
  ) {
    const { attempts, minDelay = DEFAULT_MIN_DELAY, maxDelay = Math.max(minDelay, DEFAULT_MAX_DELAY) } = options;
    if (!Number.isInteger(attempts) || attempts < 0) throw new RangeError(`retry.attempts must be a whole number >= 0, got ${attempts}`);
    for (const [name, value] of [
      ["minDelay", minDelay],
      ["maxDelay", maxDelay],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`retry.${name} must be a number of ms >= 0, got ${value}`);
    }
    if (maxDelay < minDelay) throw new RangeError(`retry.maxDelay (${maxDelay}) is below retry.minDelay (${minDelay})`);
    this.attempts = attempts;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
  }

  /**
   * The wait before retry number `attempt` (1-based): drawn uniformly
   * between minDelay and a ceiling that doubles with each attempt
   * (2 × minDelay, 4 × minDelay, ...) up to maxDelay. Full jitter keeps
   * many clients that lost one server from coming back in step.
   */
  delay(attempt: number): number {
    const ceiling = Math.min(this.maxDelay, this.minDelay * 2 ** Math.min(attempt, 30));
    return Math.round(this.minDelay + this.random() * (ceiling - this.minDelay));
  }
}

/**
 * Failures another attempt may cure: the connection dropped, reset or
 * timed out, a 4xx reply (421 included), a transfer that came up short, or
 * an upload whose resume point the server's size has not reached yet. Never a 5xx, an
 * unexpected reply, a protocol error or bad input.
 */
export function isTransient(error: unknown): error is FtpError {
  // A refused certificate looks like a failed connection, but the next
  // attempt meets the same certificate.
  if (isCertificateFailure(error)) return false;
  if (error instanceof FtpSizeMismatchError) return error.received < error.expected;
  if (error instanceof FtpResumeError) return error.stored !== null && error.stored < error.keptFrom;
  return error instanceof FtpConnectionError || error instanceof FtpTimeoutError || error instanceof FtpTempError;
}

/**
 * OpenSSL's certificate verification results as Node reports them in
 * `err.code` (see X509_verify_cert_error_string): none of them goes away
 * by connecting again.
 */
const CERTIFICATE_FAILURES = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_CRL",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECRYPT_CRL_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CRL_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "CRL_NOT_YET_VALID",
  "CRL_HAS_EXPIRED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "ERROR_IN_CRL_LAST_UPDATE_FIELD",
  "ERROR_IN_CRL_NEXT_UPDATE_FIELD",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
]);

/**
 * True when TLS refused the peer: a certificate that failed verification
 * (self-signed, expired, untrusted, the wrong name: `authorizationError`
 * codes), a `checkServerIdentity` refusal, or another `ERR_TLS_*` error
 * of set-up or policy. Looked for in `error` and its chain of causes. A
 * TLS handshake that timed out is not one: that may be the network.
 */
export function isCertificateFailure(error: unknown): boolean {
  for (let cause = error, depth = 0; typeof cause === "object" && cause !== null && depth < 8; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") {
      if (CERTIFICATE_FAILURES.has(code) || /CERT/.test(code)) return true;
      if (code.startsWith("ERR_TLS_") && code !== "ERR_TLS_HANDSHAKE_TIMEOUT") return true;
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** True for a 421 reply: the server is closing the connection, so the next attempt needs a new one. */
export function isServiceClosing(error: unknown): boolean {
  return error instanceof FtpTempError && error.response.startsWith("421");
}
