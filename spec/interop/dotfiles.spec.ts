/**
 * Issue 21: names beginning with "." against the real servers. A tree
 * holding `.htaccess` and `sub/.env` is seen whole by list(), walk() and
 * downloadDir, whichever listing the server gives them: MLSD (proftpd,
 * pure-ftpd, pyftpdlib show dot files in it) or LIST (vsftpd, which has no
 * MLSD and hides dot files from a plain LIST: ftpstream sends LIST -a).
 * The LIST path is also driven directly on every server, to pin what each
 * does with `-a`: vsftpd, proftpd and pure-ftpd take it (and hide dot files
 * without it); pyftpdlib reads `LIST -a /dir` as the path "-a /dir" (550)
 * and shows dot files in a plain LIST, so the plain LIST it falls back to
 * is whole. Of the four of issue 24, inetutils and netkit ftpd (ls -lgA)
 * and ftp-srv take `-a` and show dot files without it too; Twisted, like
 * pyftpdlib, takes `-a` for a path ("LIST -a" in LACKS).
 */
import { expect } from "chai";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FTP, parseListLine } from "../../lib/index.js";
import { listAllLines } from "../../lib/list-command.js";
import { describeServers } from "./describe-server.js";
import { lacks } from "./servers.js";

/** The tree made in the served directory, by path below it. */
const TREE: Record<string, string> = {
  "dotfiles/index.html": "<html></html>\n",
  "dotfiles/.htaccess": "Require all denied\n",
  "dotfiles/sub/app.js": "console.log(1);\n",
  "dotfiles/sub/.env": "SECRET=1\n",
};

/** What each server does with a plain LIST and `LIST -a <dir>`, as measured. */
const LIST_BEHAVIOUR = {
  vsftpd: { plainShowsDotFiles: false, takesAll: true },
  proftpd: { plainShowsDotFiles: false, takesAll: true },
  "pure-ftpd": { plainShowsDotFiles: false, takesAll: true },
  pyftpdlib: { plainShowsDotFiles: true, takesAll: false },
  "inetutils-ftpd": { plainShowsDotFiles: true, takesAll: true },
  "netkit-ftpd": { plainShowsDotFiles: true, takesAll: true },
  twisted: { plainShowsDotFiles: true, takesAll: false },
  // ftp-srv drops the options of LIST (`LIST -a /dir` lists /dir) and shows dot files either way.
  "ftp-srv": { plainShowsDotFiles: true, takesAll: true },
} as const;

describeServers(
  "interop dot files",
  () => [{ label: "passive" }],
  ({ kind, server }) => {
    let ftp: FTP;
    let work: string;

    before(async () => {
      const home = server().home;
      for (const [rel, content] of Object.entries(TREE)) {
        await fs.mkdir(path.dirname(path.join(home, rel)), { recursive: true });
        await fs.writeFile(path.join(home, rel), content);
      }
      work = await fs.mkdtemp(path.join(os.tmpdir(), "ftpstream-interop-dotfiles-"));
      const s = server();
      ftp = await FTP.create({ host: s.host, port: s.port, user: s.user, password: s.password, timeout: 20_000 });
    });

    after(async () => {
      ftp?.close();
      if (work) await fs.rm(work, { recursive: true, force: true });
    });

    it("list() sees .htaccess", async () => {
      const names: string[] = [];
      for await (const entry of ftp.list("/dotfiles")) names.push(entry.name);
      expect(names.sort()).to.deep.equal([".htaccess", "index.html", "sub"]);
    });

    it("walk() sees .htaccess and sub/.env", async () => {
      const paths: string[] = [];
      for await (const { path: p } of ftp.walk("/dotfiles")) paths.push(p);
      expect(paths.sort()).to.deep.equal([
        "/dotfiles/.htaccess",
        "/dotfiles/index.html",
        "/dotfiles/sub",
        "/dotfiles/sub/.env",
        "/dotfiles/sub/app.js",
      ]);
    });

    it("downloadDir fetches .htaccess and sub/.env byte for byte", async () => {
      const local = path.join(work, "copy");
      const result = await ftp.downloadDir("/dotfiles", local);
      expect(result.transferred).to.equal(4);
      for (const [rel, content] of Object.entries(TREE)) {
        expect(await fs.readFile(path.join(local, path.relative("dotfiles", rel)), "utf8"), rel).to.equal(content);
      }
    });

    it(`the LIST path sees the dot files too (${LIST_BEHAVIOUR[kind].takesAll ? "LIST -a" : "-a refused, plain LIST"})`, async () => {
      const behaviour = LIST_BEHAVIOUR[kind];
      const plain: string[] = [];
      for await (const line of ftp.retrlines("LIST /dotfiles")) plain.push(line as string);
      expect(
        plain.some((line) => parseListLine(line)?.name === ".htaccess"),
        "a plain LIST shows .htaccess",
      ).to.equal(behaviour.plainShowsDotFiles);
      // The structured listing's LIST, on a session key of its own (a fresh connection, as far as it knows).
      const sent: string[] = [];
      const fetch = (command: string): AsyncIterable<string> => {
        sent.push(command);
        return ftp.retrlines(command) as AsyncIterable<string>;
      };
      const session = {};
      const names: string[] = [];
      for (const dir of ["/dotfiles", "/dotfiles/sub"]) {
        for await (const line of listAllLines(session, dir, fetch)) {
          const entry = parseListLine(line);
          if (entry && entry.name !== "." && entry.name !== "..") names.push(`${dir}/${entry.name}`);
        }
      }
      expect(names).to.include.members(["/dotfiles/.htaccess", "/dotfiles/sub/.env"]);
      expect(sent).to.deep.equal(
        behaviour.takesAll ? ["LIST -a /dotfiles", "LIST -a /dotfiles/sub"] : ["LIST -a /dotfiles", "LIST /dotfiles", "LIST /dotfiles/sub"],
      );
    });

    // vsftpd, the inetd ftpds and Twisted have no MLSD: their listings are the LIST -a above.
    if (!lacks(kind, "MLSD")) {
      it("MLSD shows the dot files", async () => {
        expect(server().supportsMlsd).to.equal(true);
        const names: string[] = [];
        for await (const [name] of ftp.mlsd("/dotfiles")) names.push(name);
        expect(names).to.include(".htaccess");
      });
    }
  },
);
