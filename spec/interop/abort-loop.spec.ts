/**
 * Issue 12, case 2: aborts that never wait on a reply a server may drop.
 * Each real server, in passive and active mode and under PROT P, gets 100
 * downloads in a row on one client, each cut off after its first chunk
 * (the stream destroyed, as a `break` out of `for await` does: ABOR). Not one
 * may hang (the client's timeout would close it), end as a success, or leave
 * a reply behind for the next command. pure-ftpd used to drop the NOOP sent
 * along with ABOR, about once in 40 aborts; proftpd's mod_tls ended the whole
 * session about once in a thousand PROT P aborts, when the client closed the
 * data connection with a FIN rather than a reset (see resetConnection in
 * lib/transfer.ts).
 *
 * Issue 24: ftp-srv answers ABOR late and then ends whatever data
 * connection it holds by then ("late ABOR ends next" in LACKS): now and
 * then the download after an abort is refused with 551 No connector setup
 * (passive), and in active mode the same race kills ftp-srv's process. Even passive, about one
 * run in 13 still failed with that 551 at a point not yet traced, so ftp-srv
 * is left out of this spec (a timing-dependent spec is a bug) until the
 * client waits for a late 225 before the next EPSV/PORT, which would end the
 * race; the late 225 itself is proven in the scenarios spec.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { FTP, FTP_TLS } from "../../lib/index.js";
import { describeServers, type ServerVariant } from "./describe-server.js";
import { lacks, SAMPLE_FILES, TLS_SUPPORT, type ServerKind } from "./servers.js";
import { collect, sha256 } from "./stream-checks.js";

const MiB = 1024 * 1024;
const ABORTS = 100;
/** Lines of the debug trace kept, to show how a failed abort went. */
const TRACE_LINES = 80;

const VARIANTS = (kind: ServerKind): ServerVariant[] =>
  lacks(kind, "late ABOR ends next")
    ? []
    : [
        { label: "passive", passive: true },
        { label: "active", passive: false },
        ...(TLS_SUPPORT[kind].includes("explicit")
          ? [{ label: "explicit FTPS, PROT P, passive", tls: "explicit" as const, passive: true }]
          : []),
      ];

describeServers("interop aborts in a row", VARIANTS, ({ variant, server }) => {
  let ftp: FTP | undefined;
  const trace: string[] = [];

  before(async () => {
    // Far more than the socket buffers hold, so every abort lands mid-transfer.
    await fs.writeFile(path.join(server().home, "big.bin"), randomBytes(32 * MiB));
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") process.stderr.write(`last ${trace.length} debug lines:\n${trace.join("\n")}\n`);
    ftp?.close();
  });

  it(`aborts ${ABORTS} downloads mid-transfer in a row, none hangs, and the client stays in step`, async () => {
    const s = server();
    const logger = (line: string): void => {
      trace.push(line);
      if (trace.length > TRACE_LINES) trace.shift();
    };
    const options = { timeout: 10_000, debugLevel: 2, logger };
    const client = s.tls ? new FTP_TLS({ ...options, tls: { ca: s.ca } }) : new FTP(options);
    ftp = client;
    await client.connect(s.host, s.port);
    await client.login(s.user, s.password);
    if (client instanceof FTP_TLS) await client.prot_p();
    client.setPasv(variant.passive ?? true);
    for (let i = 0; i < ABORTS; i++) {
      const download = client.retrbinary("RETR big.bin");
      let ended = false;
      download.on("end", () => (ended = true));
      let received = 0;
      for await (const chunk of download) {
        received += (chunk as Buffer).length;
        break;
      }
      expect(received, `abort ${i}: bytes before the abort`).to.be.above(0);
      expect(ended, `abort ${i}: the download ended as a success`).to.equal(false);
      expect(client.closed, `abort ${i}: the client closed`).to.equal(false);
    }
    // In step: the next transfer and command get their own replies.
    expect(sha256(await collect(client.retrbinary("RETR sample.bin")))).to.equal(sha256(SAMPLE_FILES["sample.bin"]));
    expect(await client.pwd()).to.equal("/");
    await client.quit();
  });
});
