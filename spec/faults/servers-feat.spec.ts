/**
 * FEAT replies as servers beyond the tested four send them. RFC 2389 puts
 * one space before each feature, but proftpd before 1.3.7b with
 * `MultilineRFC2228 on` sends each with the reply's code and a dash
 * (`211-MDTM`: proftpd issue #1085, still what Debian 11 and Ubuntu 20.04
 * ship), and some embedded servers (uFTP) send them bare. Read as no
 * features, the client used none of them: no `OPTS UTF8 ON`, no MLST for
 * stat(), no MFMT, MLSD asked of a server whose FEAT said it had none.
 */
import { expect } from "chai";
import type { FixtureServer } from "../../fixtures/server.js";
import { FtpProtoError } from "../../lib/index.js";
import { commandsAfterLogin, rejectionOf, useFixtures } from "../core/helpers.js";

const FEATURES = ["MDTM", "MLST modify*;size*;type*;", "SIZE", "UTF8", "EPSV", "REST STREAM"];

/** FEAT's reply in each form, with the features above. */
const FORMS: Record<string, string> = {
  "RFC 2389 (one space before each)": ["211-Features:", ...FEATURES.map((f) => ` ${f}`), "211 End"].join("\r\n"),
  "proftpd 1.3.6 with MultilineRFC2228 on (211- before each)": ["211-Features:", ...FEATURES.map((f) => `211-${f}`), "211 End"].join(
    "\r\n",
  ),
  "bare lines (uFTP)": ["211-Features:", ...FEATURES, "211 End"].join("\r\n"),
  "odd spacing (two spaces, trailing blanks)": ["211-Extensions supported:", ...FEATURES.map((f) => `  ${f}  `), "211 END"].join("\r\n"),
};

describe("servers: FEAT in the forms servers send it", () => {
  const fx = useFixtures();

  async function server(reply: string): Promise<FixtureServer> {
    const srv = await fx.server({ files: { "/d/a.txt": "a" } });
    srv.handle("FEAT", (s) => s.send(`${reply}\r\n`));
    return srv;
  }

  for (const [form, reply] of Object.entries(FORMS)) {
    it(`reads every feature and its parameters from ${form}`, async () => {
      const srv = await server(reply);
      const ftp = await fx.client(srv);
      const features = await ftp.features();
      expect([...features.keys()].sort()).to.deep.equal(["EPSV", "MDTM", "MLST", "REST", "SIZE", "UTF8"]);
      expect(features.get("MLST")).to.equal("modify*;size*;type*;");
      expect(features.get("REST")).to.equal("STREAM");
      // The features are used: UTF8 asks for OPTS UTF8 ON.
      expect(commandsAfterLogin(srv)).to.include("OPTS UTF8 ON");
    });
  }

  it("with proftpd's 211- form listing no MLST, lists with LIST at once: no MLSD is sent", async () => {
    const srv = await server(["211-Features:", "211-MDTM", "211-SIZE", "211-EPSV", "211 End"].join("\r\n"));
    const ftp = await fx.client(srv);
    const names: string[] = [];
    for await (const entry of ftp.list("/d")) names.push(entry.name);
    expect(names).to.deep.equal(["a.txt"]);
    expect(commandsAfterLogin(srv).filter((c) => /^(MLSD|LIST)/.test(c))).to.deep.equal(["LIST -a /d"]);
  });

  it("with proftpd's MultilineRFC2228 form throughout, stat() asks MLST and reads its 250- facts line", async () => {
    const srv = await server(["211-Features:", "211-MDTM", "211-MLST modify*;size*;type*;", "211-SIZE", "211 End"].join("\r\n"));
    srv.handle("MLST", (s, arg) =>
      s.send(`250-Start of list for ${arg}\r\n250-modify=20240101120000;size=1234;type=file; ${arg}\r\n250 End of list\r\n`),
    );
    const ftp = await fx.client(srv);
    const entry = await ftp.stat("/d/a.txt");
    expect(commandsAfterLogin(srv)).to.include("MLST /d/a.txt");
    expect(entry).to.include({ name: "a.txt", type: "file", size: 1234 });
    expect(entry.modified?.toISOString()).to.equal("2024-01-01T12:00:00.000Z");
  });

  it("reads MLST's facts line in the 250- form beside an RFC FEAT, where it was an FtpProtoError", async () => {
    const srv = await server(FORMS["RFC 2389 (one space before each)"]);
    srv.handle("MLST", (s, arg) =>
      s.send(`250-Start of list for ${arg}\r\n250-type=dir;modify=20240101120000; ${arg}\r\n250 End of list\r\n`),
    );
    const ftp = await fx.client(srv);
    expect(await ftp.stat("/d")).to.include({ name: "d", type: "dir" });
  });

  it("still refuses an MLST reply with no facts line: a 250- line that is no facts is not taken for one", async () => {
    const srv = await server(FORMS["RFC 2389 (one space before each)"]);
    srv.handle("MLST", (s, arg) => s.send(`250-Start of list for ${arg}\r\n250-Nothing to see here\r\n250 End of list\r\n`));
    const ftp = await fx.client(srv);
    const error = await rejectionOf(ftp.stat("/d/a.txt"));
    expect(error).to.be.instanceOf(FtpProtoError);
  });

  it("takes a one-line FEAT reply for no features, and a 211- reply's first and last lines for none", async () => {
    const none = await fx.client(await server("211 No features supported."));
    expect((await none.features()).size).to.equal(0);
    const empty = await fx.client(await server("211-Features:\r\n211 End"));
    expect((await empty.features()).size).to.equal(0);
  });
});
