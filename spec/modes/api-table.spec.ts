/**
 * The README's API table is checked against both ends it maps, so it cannot
 * drift: every public name of Python's ftplib (asked of python3 itself) has a
 * row, and every public member of ftpstream's FTP and FTP_TLS (read from
 * lib/ with the TypeScript compiler) is named in the section.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import ts from "typescript";

const ROOT = new URL("../../../", import.meta.url);
const read = (path: string): string => readFileSync(fileURLToPath(new URL(path, ROOT)), "utf8");

/** The ftplib methods and functions of Python's documentation: each must be implemented (✅). */
const DOCUMENTED = [
  "FTP",
  "connect",
  "getwelcome",
  "login",
  "abort",
  "sendcmd",
  "voidcmd",
  "retrbinary",
  "retrlines",
  "set_pasv",
  "set_debuglevel",
  "storbinary",
  "storlines",
  "transfercmd",
  "ntransfercmd",
  "mlsd",
  "nlst",
  "dir",
  "rename",
  "delete",
  "cwd",
  "mkd",
  "pwd",
  "rmd",
  "size",
  "quit",
  "close",
  "FTP_TLS",
  "auth",
  "ccc",
  "prot_p",
  "prot_c",
  "ssl_version",
  "error_reply",
  "error_temp",
  "error_perm",
  "error_proto",
  "all_errors",
];

interface Row {
  ftplib: string[];
  ftpstream: string;
  status: string;
}

/** The rows of every table in the README's API section. */
function apiRows(): { section: string; rows: Row[] } {
  const readme = read("README.md");
  const start = readme.indexOf("## API: ftplib → ftpstream");
  expect(start, "README has the API section").to.be.greaterThan(-1);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows: Row[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("|") || /^\|\s*(ftplib|---)/.test(line)) continue;
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim());
    expect(cells, line).to.have.length(4);
    const names = [...cells[0].matchAll(/`([^`]*)`/g)].map((match) => /[A-Za-z_]\w*/.exec(match[1].replace(/^with /, ""))?.[0] ?? "");
    rows.push({ ftplib: names, ftpstream: cells[1], status: cells[2] });
  }
  return { section, rows };
}

/** Public members (methods, accessors, properties) of a class in lib/, from its source. */
function publicMembers(file: string, className: string): string[] {
  const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true);
  const members: string[] = [];
  source.forEachChild((node) => {
    if (!ts.isClassDeclaration(node) || node.name?.text !== className) return;
    for (const member of node.members) {
      if (ts.isConstructorDeclaration(member) || !member.name || !ts.isIdentifier(member.name)) continue;
      const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
      if (modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
      members.push(member.name.text);
    }
  });
  expect(members.length, `${className} found in ${file}`).to.be.above(0);
  return [...new Set(members)];
}

describe("README API table", () => {
  it("has a row for every public name of Python's ftplib FTP and FTP_TLS, and of the module", async () => {
    const script =
      "import ftplib, json\n" +
      "names = set(m for m in dir(ftplib.FTP) if not m.startswith('_'))\n" +
      "names |= set(m for m in dir(ftplib.FTP_TLS) if not m.startswith('_'))\n" +
      "names |= set(ftplib.__all__) | {'parse150', 'parse227', 'parse229', 'parse257', 'print_line', 'ftpcp', 'test'}\n" +
      "print(json.dumps(sorted(names)))";
    const { stdout } = await promisify(execFile)("python3", ["-c", script]);
    const ftplibNames = JSON.parse(stdout) as string[];
    expect(ftplibNames).to.include.members(["ntransfercmd", "prot_p", "set_pasv"]);
    const covered = new Set(apiRows().rows.flatMap((row) => row.ftplib));
    expect(
      ftplibNames.filter((name) => !covered.has(name)),
      "ftplib names with no row",
    ).to.deep.equal([]);
  });

  it("marks every documented ftplib method implemented", () => {
    const { rows } = apiRows();
    for (const name of DOCUMENTED) {
      const row = rows.find((candidate) => candidate.ftplib.includes(name));
      expect(row, `a row for ${name}`).to.not.equal(undefined);
      expect(row!.status, name).to.equal("✅");
    }
  });

  it("names every public member of ftpstream's FTP and FTP_TLS", () => {
    const { section } = apiRows();
    const members = [...publicMembers("lib/client.ts", "FTP"), ...publicMembers("lib/tls.ts", "FTP_TLS")];
    expect(members).to.include.members(["ntransfercmd", "setPasv", "setDebugLogger", "prot_p"]);
    const missing = members.filter((name) => !new RegExp(`\\b${name}\\b`).test(section));
    expect(missing, "members the API section does not mention").to.deep.equal([]);
  });
});
