/**
 * ftplib's ftpcp: copy a file from one server to another directly (FXP),
 * the target connecting to the source's passive port.
 */
import type { FTP } from "./client.js";
import { FtpError, FtpProtoError } from "./errors.js";
import { assertSafeArgument, formatPort, parse227 } from "./protocol.js";

/**
 * A client's method saying whether its data connections are protected
 * (FTP_TLS under PROT P); a client without it has clear data.
 * @internal
 */
export const DATA_PROTECTED: unique symbol = Symbol.for("ftpstream.dataProtected");

/** Whether `client`'s data connections are TLS now. */
function dataProtected(client: FTP): boolean {
  return (client as FTP & { [DATA_PROTECTED]?: () => boolean })[DATA_PROTECTED]?.() ?? false;
}

/**
 * Copies `sourcename` on `source` to `targetname` on `target`: TYPE on
 * both, PASV on the source, PORT with its address on the target, STOR on
 * the target, RETR on the source, then both final replies. Both servers
 * must allow it (many refuse a PORT naming another host). Resolves to the
 * target's final reply.
 *
 * The data connection goes between the two servers, and nothing here can
 * secure it (SSCN and CPSV are not sent): when either client has PROT P
 * in force (FTP_TLS after prot_p(), or one that logged in by itself),
 * the copy is refused with an FtpError of code `"ERR_FTP_FXP_PROTECTED"`
 * after the TYPEs and before PASV, as it would otherwise stall (both
 * servers waiting for a TLS client) or send the file in the clear to a
 * server that expects TLS. prot_c() on both copies in the clear.
 */
export async function ftpcp(source: FTP, sourcename: string, target: FTP, targetname = "", type = "I"): Promise<string> {
  if (!targetname) targetname = sourcename;
  for (const [value, what] of [
    [sourcename, "sourcename"],
    [targetname, "targetname"],
    [type, "type"],
  ] as const) {
    assertSafeArgument(value, what);
  }
  await source.voidcmd(`TYPE ${type}`);
  await target.voidcmd(`TYPE ${type}`);
  // Asked now, when both queues have reached this copy: a prot_p() or prot_c() queued before it has settled.
  const guarded = [source, target].filter(dataProtected);
  if (guarded.length > 0) {
    const which = guarded.length === 2 ? "both clients" : guarded[0] === source ? "the source" : "the target";
    throw new FtpError(
      `ftpcp cannot protect the data connection between two servers, and ${which} has PROT P in force: the copy would stall or go in the clear; call prot_c() on both to copy in the clear`,
      "ERR_FTP_FXP_PROTECTED",
    );
  }
  // Here the address in the 227 is the point: the target must reach the source.
  const { host, port } = parse227(await source.sendcmd("PASV"));
  await target.voidcmd(`PORT ${formatPort(host, port)}`);
  const targetReply = await target.sendcmd(`STOR ${targetname}`);
  if (!targetReply.startsWith("125") && !targetReply.startsWith("150")) throw new FtpProtoError(targetReply, targetReply);
  const sourceReply = await source.sendcmd(`RETR ${sourcename}`);
  if (!sourceReply.startsWith("125") && !sourceReply.startsWith("150")) throw new FtpProtoError(sourceReply, sourceReply);
  await source.voidresp();
  return target.voidresp();
}
