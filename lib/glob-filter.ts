/**
 * Glob rules for a tree transfer's `filter` (the CLI's `mirror --exclude`
 * and `--include`), compiled once each to a RegExp. No dependencies.
 *
 * What a pattern matches: an entry's path below the tree's root, with `/`
 * between its names (TreeEntry.path).
 * - `*` any run of characters within one name (none of them `/`), `?` one
 *   character but `/`, `[abc]` `[a-z]` one of the class (`[!abc]` or
 *   `[^abc]`: one not in it; a `]` first in the class is one of it), `**`
 *   any run of characters, `/` too (`**` as a whole name, `a/**\/b`, also
 *   stands for no names at all: it matches `a/b`); `\` takes the next
 *   character as itself. Everything else is itself; letter case counts,
 *   and `*` matches a leading `.` too. A name that is not UTF-8, which
 *   `filter` is shown with each bad byte as U+DC80 + byte - 0x80, is
 *   characters like any other: `*` and `?` match them.
 * - A pattern without `/` matches the name of an entry in any directory
 *   (`*.tmp`, `cache`); one with `/` matches the whole path from the root
 *   (`logs/*.gz`, `/cache`: a leading `/` only says so).
 * - A pattern ending in `/` matches directories only (`cache/`, `/tmp/`).
 *
 * How rules decide (globFilter): the first rule, in the order given, that
 * matches the entry decides. An entry no rule matches takes the decision
 * of the nearest directory above it that a rule matched (`--include data/`
 * takes in everything under `data`); failing that, a directory is in (it
 * is walked: a file below it may be included), and a file is in unless
 * some rule is an include. Leaving out a directory leaves out all below it.
 * Where some rule is an include, such a directory is only walked
 * (`"walk"`, see DirTransferOptions.filter): the target gets it only for
 * what is included below it, and `delete` does not remove it for itself.
 */

/** A pattern that cannot be compiled: empty, or with a class that is not closed, and so on. */
export class GlobPatternError extends TypeError {
  readonly code = "ERR_FTP_GLOB_PATTERN";
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`bad pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.name = "GlobPatternError";
  }
}

/** One compiled pattern. */
export interface Glob {
  readonly pattern: string;
  /** Matches the name (the last segment of the path) alone: the pattern had no `/` but a trailing one. */
  readonly nameOnly: boolean;
  /** Matches directories only: the pattern ended in `/`. */
  readonly dirOnly: boolean;
  readonly regexp: RegExp;
}

/** A pattern's pieces, before they become RegExp source. */
type Token = { kind: "text"; source: string } | { kind: "star" } | { kind: "globstar" } | { kind: "sep" };

/** Characters with a meaning in a RegExp (outside a class, under the `u` flag), escaped where a pattern has them as themselves. */
const SYNTAX = /[\\^$.*+?()[\]{}|/]/;

/** `char` as itself in RegExp source, outside a class. */
function literal(char: string): string {
  return SYNTAX.test(char) ? `\\${char}` : char;
}

/**
 * A class that matches one character, in a group of its own: Node 18's V8
 * (10.2) fails a negated class followed by more of the pattern on a
 * character outside the BMP under the `u` flag (`/^[^/]x$/u` does not match
 * "😀x"; `/^(?:[^/])x$/u` does), so `?.txt` missed such a name there.
 */
function oneOf(classSource: string): string {
  return `(?:${classSource})`;
}

/** `char` as itself inside a RegExp class (`u` flag). */
function classLiteral(char: string): string {
  return /[\\\]^[-]/.test(char) ? `\\${char}` : char;
}

/**
 * The class starting at `chars[start]` (its `[`): its RegExp source (which
 * never matches `/`) and the index just past its `]`.
 */
function readClass(pattern: string, chars: string[], start: number): { source: string; end: number } {
  let at = start + 1;
  const negated = chars[at] === "!" || chars[at] === "^";
  if (negated) at++;
  const members: string[] = [];
  let first = true;
  for (;;) {
    if (at >= chars.length) throw new GlobPatternError(pattern, "a character class '[' is not closed with ']'");
    let char = chars[at];
    if (char === "]" && !first) break;
    first = false;
    if (char === "[" && chars[at + 1] === ":")
      throw new GlobPatternError(pattern, "POSIX classes such as [[:alpha:]] are not supported: list the characters");
    if (char === "\\") {
      at++;
      if (at >= chars.length) throw new GlobPatternError(pattern, "it ends in a '\\' that escapes nothing");
      char = chars[at];
    }
    if (char === "/") throw new GlobPatternError(pattern, "a character class cannot hold '/' (it matches within one name)");
    // A range a-z: '-' neither first nor last in the class.
    if (chars[at + 1] === "-" && at + 2 < chars.length && chars[at + 2] !== "]") {
      let high = chars[at + 2];
      let next = at + 3;
      if (high === "\\") {
        if (at + 3 >= chars.length) throw new GlobPatternError(pattern, "it ends in a '\\' that escapes nothing");
        high = chars[at + 3];
        next = at + 4;
      }
      if (high === "/") throw new GlobPatternError(pattern, "a character class cannot hold '/' (it matches within one name)");
      if (char.codePointAt(0)! > high.codePointAt(0)!)
        throw new GlobPatternError(pattern, `the range ${char}-${high} in a character class runs backwards`);
      members.push(`${classLiteral(char)}-${classLiteral(high)}`);
      at = next;
      continue;
    }
    members.push(classLiteral(char));
    at++;
  }
  const body = members.join("");
  return { source: negated ? oneOf(`[^/${body}]`) : oneOf(`[${body}]`), end: at + 1 };
}

/** The pattern (without its leading and trailing `/`) as tokens. */
function tokenize(pattern: string, text: string): Token[] {
  const chars = Array.from(text);
  const tokens: Token[] = [];
  for (let at = 0; at < chars.length;) {
    const char = chars[at];
    if (char === "*") {
      let end = at;
      while (chars[end] === "*") end++;
      tokens.push({ kind: end - at >= 2 ? "globstar" : "star" });
      at = end;
    } else if (char === "?") {
      tokens.push({ kind: "text", source: oneOf("[^/]") });
      at++;
    } else if (char === "[") {
      const { source, end } = readClass(pattern, chars, at);
      tokens.push({ kind: "text", source });
      at = end;
    } else if (char === "/") {
      tokens.push({ kind: "sep" });
      at++;
    } else if (char === "\\") {
      if (at + 1 >= chars.length) throw new GlobPatternError(pattern, "it ends in a '\\' that escapes nothing");
      const next = chars[at + 1];
      tokens.push(next === "/" ? { kind: "sep" } : { kind: "text", source: literal(next) });
      at += 2;
    } else {
      tokens.push({ kind: "text", source: literal(char) });
      at++;
    }
  }
  return tokens;
}

/** Compiles one pattern (see the module's comment); throws GlobPatternError for one that cannot be. */
export function compileGlob(pattern: string): Glob {
  if (pattern === "") throw new GlobPatternError(pattern, "it is empty");
  const dirOnly = pattern.endsWith("/");
  const anchored = pattern.startsWith("/");
  const text = pattern.slice(anchored ? 1 : 0, dirOnly ? -1 : undefined);
  if (text === "") throw new GlobPatternError(pattern, "it names nothing but the root");
  // No path below the root has such a segment, so the pattern matches nothing: `--exclude ./keep.conf`
  // then kept nothing out, and with --delete the file it was written to protect was deleted.
  if (text.split("/").some((segment) => /^\.{1,2}$/.test(segment.replace(/\\(.)/gu, "$1"))))
    throw new GlobPatternError(
      pattern,
      "a '.' or '..' name matches nothing (paths are below the root, '/' between names: write a/b, not ./a/b)",
    );
  const tokens = tokenize(pattern, text);
  const seps = tokens.filter((token) => token.kind === "sep").length;
  const nameOnly = !anchored && seps === 0;
  let source = "";
  // Set by a whole-name `**` that took the `/` after it into its own group.
  let sepTaken = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const before = tokens[i - 1];
    const after = tokens[i + 1];
    if (token.kind === "sep" && (before === undefined || before.kind === "sep" || after === undefined))
      throw new GlobPatternError(pattern, "it has an empty name ('//', or '/' where a name should be)");
    if (token.kind === "text") source += token.source;
    else if (token.kind === "star") source += "[^/]*";
    else if (token.kind === "sep") source += sepTaken ? "" : "\\/";
    else if ((before === undefined || before.kind === "sep") && after?.kind === "sep") {
      // A whole name `**` and the `/` after it: any number of names, none too (`**/b` matches `b`, `a/**/b` matches `a/b`).
      source += "(?:.*\\/)?";
      sepTaken = true;
      continue;
    } else source += ".*";
    sepTaken = false;
  }
  return { pattern, nameOnly, dirOnly, regexp: new RegExp(`^${source}$`, "u") };
}

/** Whether `glob` matches the entry at `path` (below the root, `/`-separated), a directory or not. */
export function globMatches(glob: Glob, path: string, isDir: boolean): boolean {
  if (glob.dirOnly && !isDir) return false;
  return glob.regexp.test(glob.nameOnly ? path.slice(path.lastIndexOf("/") + 1) : path);
}

/** One rule: a pattern, and whether an entry it matches is taken in or left out. */
export interface GlobRule {
  pattern: string;
  include: boolean;
}

/**
 * A tree transfer's `filter` from `rules` (see the module's comment for
 * how they decide). Every pattern is compiled here, once: a bad one throws
 * GlobPatternError before anything runs.
 */
export function globFilter(rules: readonly GlobRule[]): (entry: { path: string; type: "file" | "dir" }) => boolean | "walk" {
  const compiled = rules.map((rule) => ({ glob: compileGlob(rule.pattern), include: rule.include }));
  const anyInclude = rules.some((rule) => rule.include);
  const decide = (path: string, isDir: boolean): boolean | undefined =>
    compiled.find((rule) => globMatches(rule.glob, path, isDir))?.include;
  return (entry) => {
    const own = decide(entry.path, entry.type === "dir");
    if (own !== undefined) return own;
    for (let cut = entry.path.lastIndexOf("/"); cut > 0; cut = entry.path.lastIndexOf("/", cut - 1)) {
      const inherited = decide(entry.path.slice(0, cut), true);
      if (inherited !== undefined) return inherited;
    }
    if (entry.type === "file") return !anyInclude;
    return anyInclude ? "walk" : true;
  };
}
