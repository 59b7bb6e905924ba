/**
 * An upload with nothing to send under PROT P: the data connection is
 * ended only once its TLS handshake is done. Ended before, its TCP write
 * side went down mid-handshake, the client's Finished never reached the
 * server, and the upload failed with the server's 522.
 */
import { expect } from "chai";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { VirtualFs } from "../../fixtures/server.js";
import type { FTP_TLS } from "../../lib/index.js";
import { useTlsFixture } from "./tls-fixture.js";

describe("FTPS: an empty upload under PROT P", () => {
  const fx = useTlsFixture();

  async function client(): Promise<{ ftp: FTP_TLS; files: VirtualFs }> {
    const srv = await fx.start();
    const ftp = fx.client({ host: srv.host, port: srv.port, user: "user", password: "pass", timeout: 5000 });
    await ftp.ready;
    return { ftp, files: srv.vfs };
  }

  it("an empty stream piped into storbinary()'s Writable stores an empty file and finishes on the 226", async () => {
    const { ftp, files } = await client();
    const upload = ftp.storbinary("STOR /empty.bin");
    await pipeline(Readable.from([]), upload);
    expect(upload.response).to.match(/^226/);
    expect(files.get("/empty.bin")?.length).to.equal(0);
  });

  it("storbinary() ended at once, with nothing written, does the same", async () => {
    const { ftp, files } = await client();
    const upload = ftp.storbinary("STOR /ended.bin");
    upload.end();
    await new Promise<void>((resolve, reject) => {
      upload.once("finish", resolve);
      upload.once("error", reject);
    });
    expect(upload.response).to.match(/^226/);
    expect(files.get("/ended.bin")?.length).to.equal(0);
    // The client goes on, its data still protected.
    expect(await ftp.storbinary("STOR /after.bin", Buffer.from("after"))).to.match(/^226/);
    expect(files.get("/after.bin")?.toString()).to.equal("after");
  });
});
