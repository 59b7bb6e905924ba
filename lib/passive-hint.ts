/**
 * What an FtpPool passes between its clients of one server: that a data
 * connection to one of its EPSV ports got through. A client told so
 * writes its first transfer's command with its EPSV (when the transfer
 * asks for that) instead of first connecting to find out, a round trip
 * less on each connection's first listing. A firewall that drops EPSV
 * ports drops them for every connection, so the first one's probe has
 * found that out before anything is passed on.
 */

/** FTP's method: with `true`, take the hint for this connection; returns whether its EPSV ports are known reachable. */
export const EPSV_REACHED: unique symbol = Symbol("ftpstream.epsvReached");
