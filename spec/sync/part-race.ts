/**
 * Two runs uploading one file through its part name at once, played on
 * run A's control connection: the first write of A's that names the part
 * with `verb` (SIZE or RNFR, after A's STOR of the part got its 226) is
 * held back until `runB` is done, then written. `runB` plays the other
 * run's STOR of the same part: it truncates the part A has just finished
 * and writes its own first bytes there. With any server, fixture or real,
 * as the order of the two runs' commands is all that matters.
 */
import * as net from "node:net";
import type { FtpOptions } from "../../lib/index.js";

export function heldBeforePart(
  verb: "SIZE" | "RNFR",
  part: string,
  runB: () => Promise<void>,
): { createConnection: NonNullable<FtpOptions["createConnection"]>; raced: () => boolean } {
  let raced = false;
  const line = new RegExp(`(^|\\r\\n)${verb} ${part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\r\\n`);
  return {
    raced: () => raced,
    createConnection: (request) => {
      const socket = net.connect({ host: request.host, port: request.port });
      if (request.purpose !== "control") return socket;
      const write = socket.write.bind(socket) as (chunk: string | Buffer, ...rest: unknown[]) => boolean;
      socket.write = (chunk: string | Buffer, ...rest: unknown[]) => {
        if (raced || !line.test(String(chunk))) return write(chunk, ...rest);
        raced = true;
        runB().then(
          () => write(chunk, ...rest),
          (error: unknown) => socket.destroy(error as Error),
        );
        return true;
      };
      return socket;
    },
  };
}
