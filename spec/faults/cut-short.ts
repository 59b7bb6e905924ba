/** A download cut short that ends in 226: what a data connection cut with a FIN looks like on a server whose 150 gives no size. */
import type { Session } from "../../fixtures/server.js";

/** The whole file the specs serve. */
export const FULL = "0123456789";

/** A RETR handler: 150 without a size, the first half of FULL, FIN, then 226. */
export async function cutShort(s: Session): Promise<void> {
  s.reply(150, "Accepted data connection");
  await s.sendData(FULL.slice(0, 5));
  s.reply(226, "Transfer complete.");
}
