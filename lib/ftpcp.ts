/**
 * ftplib's ftpcp: copy a file from one server to another directly (FXP),
 * the target connecting to the source's passive port.
 */
import type { FTP } from "./client.js";
import { FtpProtoError } from "./errors.js";
import { assertSafeArgument, formatPort, parse227 } from "./protocol.js";

/**
 * Copies `sourcename` on `source` to `targetname` on `target`: TYPE on
 * both, PASV on the source, PORT with its address on the target, STOR on
 * the target, RETR on the source, then both final replies. Both servers
 * must allow it (many refuse a PORT naming another host). Resolves to the
 * target's final reply.
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
