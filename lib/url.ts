/**
 * `ftp://` URLs (RFC 1738): scheme, credentials, host, port, path and
 * typecode (`;type=a|i|d` at the end of the path). `ftps://` is implicit
 * FTPS (as curl and lftp read it), `ftpes://` explicit FTPS (AUTH TLS), as
 * FileZilla names it.
 */
import { assertPort, assertSafeArgument } from "./protocol.js";

export interface FtpUrl {
  /** How the control connection is secured. */
  security: "none" | "explicit" | "implicit";
  host: string;
  port: number;
  /** Decoded user, or undefined for anonymous. */
  user: string | undefined;
  password: string | undefined;
  /** Decoded path after the host, without the leading "/" ("" for none), and without its typecode. */
  path: string;
  /**
   * RFC 1738's typecode, present only when the URL ends in one:
   * `;type=a` (ASCII transfer, TYPE A), `;type=i` (binary, TYPE I) or
   * `;type=d` (a listing of names, as curl reads it). Never part of `path`.
   */
  typecode?: "a" | "i" | "d";
}

const DEFAULT_PORTS = { none: 21, explicit: 21, implicit: 990 } as const;

/** RFC 1738's `;type=<typecode>`, written as is (a `;` that is part of a name is written `%3B`). */
const TYPECODE = /;type=/i;

/**
 * Parses an FTP URL; throws TypeError for another scheme or a malformed
 * one. A `;type=` at the end of the path is read as RFC 1738's typecode
 * (`a`, `i` or `d`, either case) and taken off the path; any other
 * `;type=` (another code, or one not at the end) is refused rather than
 * sent as part of a name, and so is a query (`?`) or fragment (`#`), which
 * would otherwise be dropped: a name holding one is written `%3B`, `%3F`,
 * `%23`.
 */
export function parseFtpUrl(text: string | URL): FtpUrl {
  const url = typeof text === "string" ? new URL(text) : text;
  const schemes: Record<string, FtpUrl["security"]> = { "ftp:": "none", "ftpes:": "explicit", "ftps:": "implicit" };
  const security = schemes[url.protocol];
  if (!security) throw new TypeError(`not an FTP URL (ftp://, ftpes://, ftps://): ${url.protocol}`);
  // URL keeps IPv6 hosts in brackets; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw new TypeError("an FTP URL needs a host");
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[security];
  assertPort(port);
  const user = url.username ? decoded(url.username, "user") : undefined;
  const password = url.password ? decoded(url.password, "password") : undefined;
  // The URL keeps "?" and "#" out of its pathname: what follows them would be dropped, and another name acted on.
  if (!url.href.endsWith(url.pathname))
    throw new TypeError("an FTP URL takes no query or fragment: write a '?' or '#' that is part of a name as %3F or %23");
  let rawPath = url.pathname.replace(/^\//, "");
  let typecode: FtpUrl["typecode"];
  const typed = TYPECODE.exec(rawPath);
  if (typed) {
    const code = rawPath.slice(typed.index + typed[0].length).toLowerCase();
    if (code !== "a" && code !== "i" && code !== "d")
      throw new TypeError(
        "a ';type=' in an FTP URL ends its path with a typecode a, i or d (RFC 1738); write a ';' that is part of a name as %3B",
      );
    typecode = code;
    rawPath = rawPath.slice(0, typed.index);
  }
  const path = decoded(rawPath, "path");
  for (const [value, what] of [
    [user, "user"],
    [password, "password"],
    [path, "path"],
  ] as const) {
    if (value !== undefined) assertSafeArgument(value, what);
  }
  return { security, host, port, user, password, path, ...(typecode ? { typecode } : {}) };
}

/**
 * `text` percent-decoded, or a TypeError (as for any malformed URL; the
 * text is not shown, a password may be in it) where its escapes are no
 * UTF-8: `%C0%AE` (an overlong `.`), a lone `%FF`. decodeURIComponent's
 * URIError escaped parseFtpUrl's promise of a TypeError.
 */
function decoded(text: string, what: "user" | "password" | "path"): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError(`the ${what} of an FTP URL must be percent-encoded UTF-8 (no overlong or lone bytes such as %C0%AE or %FF)`);
  }
}
