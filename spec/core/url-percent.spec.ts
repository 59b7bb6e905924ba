/**
 * parseFtpUrl throws a TypeError, as for any malformed URL, where a
 * percent-escape is no UTF-8 (`%C0%AE`, an overlong `.`; a lone `%FF`):
 * before, decodeURIComponent's URIError came out of it, and a password's
 * bad escape was no different from a path's.
 */
import { expect } from "chai";
import { parseFtpUrl } from "../../lib/index.js";

describe("parseFtpUrl: escapes that are no UTF-8", () => {
  it("throws a TypeError naming the part, never showing the password", () => {
    for (const [text, what] of [
      ["ftp://h/a/%C0%AE%C0%AE/b", "path"],
      ["ftp://h/%C0%AF", "path"],
      ["ftp://h/%FF", "path"],
      ["ftp://us%C0r@h/", "user"],
      ["ftp://u:s3cr3t%FF@h/", "password"],
    ]) {
      let error: unknown;
      try {
        parseFtpUrl(text);
      } catch (caught) {
        error = caught;
      }
      expect(error, text).to.be.an.instanceOf(TypeError);
      expect((error as Error).message, text).to.include(`the ${what} of an FTP URL`);
      expect((error as Error).message, text).not.to.include("s3cr3t");
    }
  });

  it("decodes valid UTF-8 escapes as before", () => {
    expect(parseFtpUrl("ftp://us%40r:p%25w@[::1]/%C3%A9t%C3%A9")).to.include({
      user: "us@r",
      password: "p%w",
      host: "::1",
      port: 21,
      path: "été",
    });
  });
});
