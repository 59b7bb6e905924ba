/**
 * The import graph of lib/, read from the TypeScript source: every
 * `import`, `import type`, `export ... from` and `import()` of a sibling
 * module counts, since a type import ties two files together for a reader
 * and for the compiler as much as a value import does.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import ts from "typescript";

const lib = new URL("../../../lib/", import.meta.url);

/** The lib modules a TypeScript source names (`"./sync.js"` → `"sync.ts"`), type imports included. */
function siblingImports(source: string): string[] {
  const found = new Set<string>();
  const patterns = [
    // import x from, import type {...} from, export {...} from, export * from (over several lines)
    /^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["'](\.\/[^"']+)["']/gm,
    // import "./side-effect.js"
    /^\s*import\s*["'](\.\/[^"']+)["']/gm,
    // import("./lazy.js"), and type positions such as import("./x.js").Type
    /\bimport\(\s*["'](\.\/[^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.add(match[1].slice(2).replace(/\.js$/, ".ts"));
  }
  return [...found].sort();
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const name of readdirSync(lib).filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))) {
    graph.set(name, siblingImports(readFileSync(new URL(name, lib), "utf8")));
  }
  return graph;
}

/** Every module `start` reaches through its imports, itself left out unless a cycle leads back to it. */
function reachable(graph: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const next = [...(graph.get(start) ?? [])];
  while (next.length > 0) {
    const name = next.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    next.push(...(graph.get(name) ?? []));
  }
  return seen;
}

describe("lib's import graph", function () {
  it("counts type imports, re-exports, side-effect and dynamic imports of sibling modules, and nothing else", function () {
    const source = [
      '/** import { FTP } from "./client.js" in a comment */',
      'import { EventEmitter } from "node:events";',
      'import type { DirTransferResult } from "./sync.js";',
      "import {",
      "  a,",
      "  b,",
      '} from "./protocol.js";',
      'import "./dispose.js";',
      'export type { Reply } from "./reply.js";',
      'export * from "./listing.js";',
      'type Lazy = import("./pool.js").FtpPool;',
    ].join("\n");
    expect(siblingImports(source)).to.deep.equal(["dispose.ts", "listing.ts", "pool.ts", "protocol.ts", "reply.ts", "sync.ts"]);
  });

  it("sees every module, so the checks below are not vacuous", function () {
    const graph = importGraph();
    expect(graph.get("errors.ts"), "errors.ts was read").to.be.an("array");
    expect(graph.get("client.ts"), "client.ts imports errors.ts").to.include("errors.ts");
    for (const [name, imports] of graph) {
      for (const imported of imports) expect(graph.has(imported), `${name} imports ${imported}, which is in lib/`).to.equal(true);
    }
  });

  it("errors.ts reaches only leaf modules (none that imports another lib module) and lies on no import cycle", function () {
    const graph = importGraph();
    const fromErrors = reachable(graph, "errors.ts");
    const notLeaves = [...fromErrors].filter((name) => (graph.get(name) ?? []).length > 0).sort();
    expect(notLeaves, "modules reached from errors.ts that import other lib modules").to.deep.equal([]);
    expect(fromErrors.has("errors.ts"), "an import cycle through errors.ts").to.equal(false);
  });
});

/**
 * Members whose signatures name types that are not exported on purpose:
 * the transfer streams are made by the client's methods, never by users,
 * and FtpError's instanceof check takes its internal brand.
 */
const INTERNAL_MEMBERS = new Set(["DownloadStream.constructor", "UploadStream.constructor", "FtpError.[Symbol.hasInstance]"]);

/**
 * The types declared in lib/ that the public signatures of what
 * lib/index.ts exports name (parameters, results, type parameters'
 * constraints, heritage, members of exported interfaces), but that
 * index.ts does not export: a user could not name them. Private and
 * protected members, bodies and initializers are not signatures.
 */
function unexportedSignatureTypes(): string[] {
  const libDir = fileURLToPath(new URL("../../../lib/", import.meta.url));
  const program = ts.createProgram([`${libDir}index.ts`], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
  });
  const checker = program.getTypeChecker();
  const resolved = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const index = checker.getSymbolAtLocation(program.getSourceFile(`${libDir}index.ts`)!)!;
  const exported = new Set(checker.getExportsOfModule(index).map(resolved));
  const inLib = (node: ts.Node): boolean => node.getSourceFile().fileName.startsWith(libDir);
  const hidden = (node: ts.Node): boolean =>
    (ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : []).some(
      (modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword || modifier.kind === ts.SyntaxKind.ProtectedKeyword,
    ) ||
    (ts.isClassElement(node) && node.name !== undefined && ts.isPrivateIdentifier(node.name));
  const missing = new Set<string>();
  const visit = (node: ts.Node, owner: string): void => {
    if (ts.isBlock(node) || hidden(node)) return;
    if (ts.isClassElement(node) || ts.isTypeElement(node)) {
      const name = ts.isConstructorDeclaration(node) ? "constructor" : (node.name?.getText() ?? "");
      if (INTERNAL_MEMBERS.has(`${owner}.${name}`)) return;
    }
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
      const symbol = checker.getSymbolAtLocation(ts.isTypeReferenceNode(node) ? node.typeName : node.expression);
      const target = symbol && resolved(symbol);
      const declaration = target?.declarations?.[0];
      if (target && declaration && !(target.flags & ts.SymbolFlags.TypeParameter) && inLib(declaration) && !exported.has(target)) {
        missing.add(`${target.name} (in ${owner})`);
      }
    }
    ts.forEachChild(node, (child) => {
      // An initializer is a value, not a signature.
      if ((ts.isPropertyDeclaration(node) || ts.isVariableDeclaration(node)) && child === node.initializer) return;
      visit(child, owner);
    });
  };
  for (const symbol of exported) {
    for (const declaration of symbol.declarations ?? []) if (inLib(declaration)) visit(declaration, symbol.name);
  }
  return [...missing].sort();
}

describe("lib/index.ts's exports", function () {
  it("export every type that their public signatures name, so a user can name it too", function () {
    expect(unexportedSignatureTypes()).to.deep.equal([]);
  });
});
