/**
 * Some servers send a 2xx before the 1xx of a transfer command (ftplib's
 * ntransfercmd skips it: "some servers apparently send a 200 reply to a
 * LIST or STOR command, before the 150 reply"). The client skips it too,
 * and the command's final reply is still owed. When the 2xx and the 1xx
 * came in one chunk, the 2xx was counted as the command's final reply, the
 * 1xx behind it was dropped as a reply nobody was owed, and the transfer
 * waited for its 1xx until the timeout.
 */
import { expect } from "chai";
import { patternBytes } from "../../fixtures/server.js";
import type { FixtureServer, Session as FixtureSession } from "../../fixtures/server.js";
import { useFixtures } from "./helpers.js";

const FILE = patternBytes(5, 20_000);

describe("a 2xx before a transfer's 1xx", () => {
  const fx = useFixtures();

  /** A server answering RETR, LIST and STOR with `first` (the 2xx and the 150, together or apart), then the transfer and 226. */
  async function server(together: boolean): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/f.bin": FILE, "/d/a.txt": "a" } });
    const preliminary = async (s: FixtureSession): Promise<void> => {
      if (together) {
        s.send("200 Command okay.\r\n150 Opening BINARY mode data connection.\r\n");
        return;
      }
      s.send("200 Command okay.\r\n");
      await s.sleep(20);
      s.send("150 Opening BINARY mode data connection.\r\n");
    };
    srv.handle("RETR", async (s) => {
      await preliminary(s);
      await s.sendData(FILE);
      s.reply(226, "Transfer complete.");
    });
    srv.handle("LIST", async (s) => {
      await preliminary(s);
      await s.sendData("-rw-r--r-- 1 ftp ftp 1 Jan 01 2024 a.txt\r\n");
      s.reply(226, "Directory send OK.");
    });
    srv.handle("STOR", async (s, arg) => {
      await preliminary(s);
      s.vfs.set(s.resolvePath(arg), await s.receiveAll());
      s.reply(226, "Transfer complete.");
    });
    return srv;
  }

  for (const together of [true, false]) {
    const how = together ? "in the same chunk as the 150" : "apart from the 150";
    it(`skips it ${how}: RETR, LIST and STOR go through and the client stays in step`, async () => {
      const srv = await server(together);
      const ftp = await fx.client(srv, { timeout: 2000 });
      const chunks: Buffer[] = [];
      expect(await ftp.retrbinary("RETR /f.bin", (block) => void chunks.push(Buffer.from(block)))).to.equal("226 Transfer complete.");
      expect(Buffer.concat(chunks).equals(FILE)).to.equal(true);
      const lines: string[] = [];
      expect(await ftp.retrlines("LIST /d", (line) => void lines.push(line))).to.equal("226 Directory send OK.");
      expect(lines).to.deep.equal(["-rw-r--r-- 1 ftp ftp 1 Jan 01 2024 a.txt"]);
      expect(await ftp.storbinary("STOR /up.bin", Buffer.from("up"))).to.equal("226 Transfer complete.");
      expect(srv.vfs.get("/up.bin")?.toString()).to.equal("up");
      expect(await ftp.pwd()).to.equal("/");
      expect(await ftp.sendcmd("NOOP")).to.match(/^200 /);
    });
  }
});
