/**
 * `ftp://` URLs (RFC 1738): scheme, credentials, host, port and path.
 * `ftps://` is implicit FTPS (as curl and lftp read it), `ftpes://`
 * explicit FTPS (AUTH TLS), as FileZilla names it.
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
  /** Decoded path after the host, without the leading "/" ("" for none). */
  path: string;
}

const DEFAULT_PORTS = { none: 21, explicit: 21, implicit: 990 } as const;

/** Parses an FTP URL; throws TypeError for another scheme or a malformed one. */
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
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const path = decodeURIComponent(url.pathname.replace(/^\//, ""));
  for (const [value, what] of [
    [user, "user"],
    [password, "password"],
    [path, "path"],
  ] as const) {
    if (value !== undefined) assertSafeArgument(value, what);
  }
  return { security, host, port, user, password, path };
}
