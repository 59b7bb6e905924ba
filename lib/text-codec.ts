/**
 * The text encoding of commands, replies and listings: UTF-8 (the default,
 * RFC 2640), any Node Buffer encoding, or any label of the WHATWG Encoding
 * Standard (windows-1251, iso-8859-2, koi8-r, gbk, big5, shift_jis,
 * euc-kr, ...) that servers still use for names. Decoding uses the
 * platform's TextDecoder (Node's ICU); encoding, which the platform does
 * only for UTF-8, uses a reverse table made once per encoding from that
 * same decoder, so the two always agree, with no library to keep.
 *
 * Bytes that do not decode are never lost: each becomes a lone surrogate
 * U+DC80..U+DCFF (Python's "surrogateescape"), which encoding turns back
 * into that byte. A name in the wrong encoding can so still be listed,
 * downloaded, renamed and deleted: the string a listing gave carries the
 * name's own bytes back to the server.
 */
import { TextDecoder } from "node:util";

/** Turns command text into bytes and reply or listing bytes into text, for one encoding. */
export interface TextCodec {
  /** The encoding's canonical name (`utf-8`, `windows-1251`, `latin1`, ...). */
  readonly name: string;
  /** Whether this is UTF-8 (OPTS UTF8 ON is asked only then). */
  readonly utf8: boolean;
  /** Bytes of `text`; a character the encoding has no bytes for throws a TypeError (ERR_INVALID_ARG_VALUE). */
  encode(text: string): Buffer;
  /** Text of `bytes[start, end)`, undecodable bytes escaped (see the module comment). */
  decode(bytes: Buffer, start?: number, end?: number): string;
}

/** Whether `text` holds an escaped byte (so it must go through encode(), not a plain UTF-8 write). */
export function hasEscapes(text: string): boolean {
  return ESCAPED.test(text);
}

/** An escaped byte: U+DC80 + (byte - 0x80), as Python's surrogateescape (bytes below 0x80 always decode). */
const ESCAPE_BASE = 0xdc00;
const ESCAPED = /[\udc80-\udcff]/;
/** A lone low surrogate: one not preceded by a high one. */
const LONE_ESCAPE = /(?<![\ud800-\udbff])[\udc80-\udcff]/g;

function escapeByte(byte: number): string {
  return String.fromCharCode(ESCAPE_BASE + byte);
}

function unencodable(char: string, name: string): TypeError {
  const code = char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
  return Object.assign(new TypeError(`U+${code} (${JSON.stringify(char)}) has no bytes in ${name}`), { code: "ERR_INVALID_ARG_VALUE" });
}

/** UTF-8 through Buffer (fast), with escapes only where bytes do not decode. */
class Utf8Codec implements TextCodec {
  readonly name = "utf-8";
  readonly utf8 = true;

  encode(text: string): Buffer {
    if (!ESCAPED.test(text)) return Buffer.from(text, "utf8");
    return encodeWithEscapes(text, (part) => Buffer.from(part, "utf8"));
  }

  decode(bytes: Buffer, start = 0, end = bytes.length): string {
    const text = bytes.toString("utf8", start, end);
    // U+FFFD is what Buffer makes of bytes it cannot read (or a real U+FFFD): look again only then.
    if (!text.includes("\ufffd")) return text;
    return decodeUtf8WithEscapes(bytes.subarray(start, end));
  }
}

/** The length of the well-formed UTF-8 sequence at `at` (RFC 3629), or 0 if none starts there. */
function utf8SequenceAt(bytes: Buffer, at: number): number {
  const lead = bytes[at];
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  } else return 0;
  if (at + length > bytes.length) return 0;
  for (let i = 1; i < length; i++) {
    const byte = bytes[at + i];
    if (byte < (i === 1 ? low : 0x80) || byte > (i === 1 ? high : 0xbf)) return 0;
  }
  return length;
}

/** UTF-8 with each byte that starts no well-formed sequence escaped; the well-formed runs decoded whole. */
function decodeUtf8WithEscapes(bytes: Buffer): string {
  let text = "";
  let run = 0;
  let at = 0;
  while (at < bytes.length) {
    const length = utf8SequenceAt(bytes, at);
    if (length > 0) {
      at += length;
      continue;
    }
    text += bytes.toString("utf8", run, at) + escapeByte(bytes[at]);
    at++;
    run = at;
  }
  return text + bytes.toString("utf8", run, at);
}

/** A Node Buffer encoding other than UTF-8 (latin1 reads every byte; ucs2 is UTF-16LE). */
class BufferCodec implements TextCodec {
  readonly utf8 = false;
  constructor(readonly name: BufferEncoding) {}

  encode(text: string): Buffer {
    if (this.name === "latin1" || this.name === "binary") {
      for (const char of text) if (char.charCodeAt(0) > 0xff) throw unencodable(char, this.name);
    }
    return Buffer.from(text, this.name);
  }

  decode(bytes: Buffer, start = 0, end = bytes.length): string {
    return bytes.toString(this.name, start, end);
  }
}

/**
 * windows-1252 (what WHATWG also calls iso-8859-1 and ascii): Latin-1 with
 * 27 printable characters in 0x80-0x9F. By its own table, because Node's
 * TextDecoder drops those bytes (Node 20: `decode([0x80, 0xe9])` is "é").
 */
class Windows1252Codec implements TextCodec {
  readonly name = "windows-1252";
  readonly utf8 = false;
  private readonly high = [..."€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ"];
  private readonly back = new Map(this.high.map((char, i) => [char, 0x80 + i]));

  encode(text: string): Buffer {
    const out = Buffer.allocUnsafe(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      const byte =
        code < 0x80 || (code >= 0xa0 && code <= 0xff)
          ? code
          : (this.back.get(text[i]) ?? (code >= 0xdc80 && code <= 0xdcff ? code - ESCAPE_BASE : -1));
      if (byte < 0) throw unencodable(String.fromCodePoint(text.codePointAt(i)!), this.name);
      out[i] = byte;
    }
    return out;
  }

  decode(bytes: Buffer, start = 0, end = bytes.length): string {
    let text = "";
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      text += byte >= 0x80 && byte < 0xa0 ? this.high[byte - 0x80] : String.fromCharCode(byte);
    }
    return text;
  }
}

/** A WHATWG encoding: decoded by TextDecoder, encoded through the table that decoder gives. */
class TableCodec implements TextCodec {
  readonly utf8 = false;
  private table: Map<string, Buffer> | undefined;

  constructor(
    readonly name: string,
    /** Most bytes one character takes (1 for single-byte encodings). */
    private readonly width: number,
  ) {
    this.decoder = new TextDecoder(name, { fatal: true });
  }

  private readonly decoder: TextDecoder;
  /** Decodes `bytes`; throws where they are no characters. */
  private readonly strict = (bytes: Buffer): string => this.decoder.decode(bytes);
  /**
   * Whether `text` is what `bytes` say here: it must encode back to them.
   * Where an encoding spells a character two ways (Shift_JIS's NEC and IBM
   * rows), the second spelling is then kept as escapes, so the name still
   * goes back to the server as it came.
   */
  private readonly encodesTo = (text: string, bytes: Buffer): boolean => {
    try {
      return this.encode(text).equals(bytes);
    } catch {
      return false;
    }
  };

  encode(text: string): Buffer {
    const table = (this.table ??= reverseTable(this.name, this.width));
    const out: Buffer[] = [];
    let ascii = "";
    for (const char of text) {
      const code = char.charCodeAt(0);
      // ASCII is ASCII in every encoding offered here.
      if (code < 0x80) {
        ascii += char;
        continue;
      }
      if (ascii) {
        out.push(Buffer.from(ascii, "latin1"));
        ascii = "";
      }
      if (code >= 0xdc80 && code <= 0xdcff) out.push(Buffer.from([code - ESCAPE_BASE]));
      else {
        const bytes = table.get(char);
        if (!bytes) throw unencodable(char, this.name);
        out.push(bytes);
      }
    }
    if (ascii) out.push(Buffer.from(ascii, "latin1"));
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  decode(bytes: Buffer, start = 0, end = bytes.length): string {
    const part = bytes.subarray(start, end);
    let text: string | undefined;
    try {
      text = this.strict(part);
    } catch {
      // Bytes that are no character: read piece by piece below.
    }
    if (text !== undefined && this.encodesTo(text, part)) return text;
    return decodeWithEscapes(part, this.strict, this.width, this.encodesTo);
  }
}

/**
 * Every character the decoder gives for one byte (and, for a multi-byte
 * encoding, for each two-byte sequence), mapped back to those bytes. The
 * first spelling of a character wins, as an encoder's would.
 */
function reverseTable(name: string, width: number): Map<string, Buffer> {
  const table = new Map<string, Buffer>();
  const decoder = new TextDecoder(name, { fatal: true });
  const add = (bytes: Buffer): void => {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return;
    }
    if ([...text].length === 1 && text !== "\ufffd" && !table.has(text)) table.set(text, Buffer.from(bytes));
  };
  for (let byte = 0x80; byte <= 0xff; byte++) add(Buffer.from([byte]));
  if (width > 1) {
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x40; trail <= 0xfe; trail++) add(Buffer.from([lead, trail]));
    }
  }
  return table;
}

/** Decodes the shortest pieces that decode (and that `reads` accepts), escaping each byte that starts none. */
function decodeWithEscapes(
  bytes: Buffer,
  strict: (piece: Buffer) => string,
  width: number,
  reads: (text: string, piece: Buffer) => boolean = () => true,
): string {
  let text = "";
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] < 0x80) {
      let ascii = at;
      while (ascii < bytes.length && bytes[ascii] < 0x80) ascii++;
      text += bytes.toString("latin1", at, ascii);
      at = ascii;
      continue;
    }
    let taken = 0;
    for (let length = 1; length <= width && at + length <= bytes.length && taken === 0; length++) {
      try {
        const bytesOfPiece = bytes.subarray(at, at + length);
        const piece = strict(bytesOfPiece);
        if (piece && reads(piece, bytesOfPiece)) {
          text += piece;
          taken = length;
        }
      } catch {
        // Not a whole character yet (or never): try one byte more.
      }
    }
    if (taken === 0) {
      text += escapeByte(bytes[at]);
      taken = 1;
    }
    at += taken;
  }
  return text;
}

/** Encodes `text`, turning each escape back into its byte and the rest through `plain`. */
function encodeWithEscapes(text: string, plain: (part: string) => Buffer): Buffer {
  const out: Buffer[] = [];
  let last = 0;
  for (const match of text.matchAll(LONE_ESCAPE)) {
    if (match.index > last) out.push(plain(text.slice(last, match.index)));
    out.push(Buffer.from([match[0].charCodeAt(0) - ESCAPE_BASE]));
    last = match.index + 1;
  }
  if (last < text.length) out.push(plain(text.slice(last)));
  return Buffer.concat(out);
}

/** Encodings whose characters take more than one byte, and how many at most (2-byte forms are tabled). */
const MULTI_BYTE: Record<string, number> = { gbk: 2, gb18030: 2, big5: 2, shift_jis: 2, "euc-kr": 2, "euc-jp": 2 };
/** WHATWG encodings with state or units wider than a byte, which a table cannot encode. */
const NOT_TABLED = new Set(["iso-2022-jp", "utf-16be", "replacement", "x-user-defined"]);

const codecs = new Map<string, TextCodec>();

/**
 * The codec for an `encoding` option: `utf8`/`utf-8` (default), a Node
 * Buffer encoding (`latin1`, `ascii`, `ucs2`...), or a WHATWG label.
 * Throws a TypeError (ERR_INVALID_ARG_VALUE) for a label the platform does
 * not know or one that cannot be encoded.
 */
export function codecFor(encoding: string = "utf8"): TextCodec {
  const key = encoding.trim().toLowerCase();
  let codec = codecs.get(key);
  if (codec) return codec;
  if (key === "utf8" || key === "utf-8" || key === "unicode-1-1-utf-8") codec = new Utf8Codec();
  else if (key !== "utf-16le" && Buffer.isEncoding(key)) codec = new BufferCodec(key);
  else {
    let name: string;
    try {
      name = new TextDecoder(key).encoding;
    } catch {
      throw Object.assign(
        new TypeError(`unknown encoding ${JSON.stringify(encoding)}: give a Node Buffer encoding or a WHATWG Encoding Standard label`),
        {
          code: "ERR_INVALID_ARG_VALUE",
        },
      );
    }
    if (name === "utf-8") codec = new Utf8Codec();
    else if (name === "utf-16le") codec = new BufferCodec("utf16le");
    else if (name === "windows-1252") codec = new Windows1252Codec();
    else if (NOT_TABLED.has(name)) {
      throw Object.assign(new TypeError(`the encoding ${name} cannot be used for FTP commands`), { code: "ERR_INVALID_ARG_VALUE" });
    } else codec = new TableCodec(name, MULTI_BYTE[name] ?? 1);
  }
  codecs.set(key, codec);
  return codec;
}

/**
 * Byte 0xFF in a command: RFC 959 runs the control connection as Telnet,
 * where 0xFF is IAC ("interpret as command") and a literal 0xFF is sent
 * doubled. UTF-8 never makes it; windows-1251's "я", latin1's "ÿ" and an
 * escaped byte (\uDCFF) do. What servers do with it, measured (see
 * spec/interop/telnet-iac.spec.ts):
 *
 * - GNU inetutils ftpd, netkit/BSD ftpd: Telnet. IAC and the byte after it
 *   are dropped (`DELE a\xffb.txt` deletes `a.txt`); IAC IAC is one 0xFF.
 * - proftpd: IAC IAC is one 0xFF, and a lone IAC before a plain byte is kept.
 * - vsftpd, pure-ftpd: no Telnet: every byte as sent (IAC IAC is two
 *   0xFF). vsftpd doubles each 0xFF in its replies (a 257 with a path).
 * - pyftpdlib, ftp-srv (UTF-8 only, 0xFF read as U+FFFD) and Twisted (0xFF
 *   read as "ÿ", stored as UTF-8): no spelling reaches a name holding byte 0xFF.
 *
 * `telnetIac` (a client option) says what ftpstream does:
 * - `"auto"` (default): as the welcome says the server is (see
 *   {@link telnetIacOf}); for a server it does not know, "refuse".
 * - `"double"`: send each 0xFF as IAC IAC (RFC 959; lftp's default).
 * - `"raw"`: send 0xFF as it is (Python's ftplib).
 * - `"refuse"`: send no command holding 0xFF (an FtpError ERR_FTP_TELNET_IAC).
 */
export type TelnetIac = "auto" | "double" | "raw" | "refuse";

/** How a server known by its welcome reads 0xFF in commands, and whether it doubles 0xFF in its replies. */
export interface TelnetIacHandling {
  commands: Exclude<TelnetIac, "auto">;
  doublesReplies: boolean;
}

/** The Telnet IAC byte. */
export const IAC = 0xff;

/**
 * Welcomes (their default text) of servers whose handling of 0xFF is
 * measured, with that handling. A welcome the administrator changed says
 * nothing, and the server is then unknown.
 */
const KNOWN_WELCOMES: ReadonlyArray<[RegExp, TelnetIacHandling]> = [
  [/\(vsFTPd [\d.]+\)/, { commands: "raw", doublesReplies: true }],
  [/Pure-FTPd/, { commands: "raw", doublesReplies: false }],
  [/ProFTPD/, { commands: "double", doublesReplies: false }],
  // GNU inetutils ("FTP server (GNU inetutils 2.4) ready.") and the BSD ftpd
  // family: netkit's "FTP server (Version 6.4/OpenBSD/Linux-ftpd-0.17) ready.",
  // FreeBSD's "FTP server (Version 6.00LS) ready.".
  [/FTP server \((?:GNU inetutils [^)]*|Version [^)]*)\) ready/, { commands: "double", doublesReplies: false }],
];

/** How `welcome` (the 220's text) says its server reads 0xFF, or undefined for a server not known. */
export function telnetIacOf(welcome: string): TelnetIacHandling | undefined {
  for (const [pattern, handling] of KNOWN_WELCOMES) if (pattern.test(welcome)) return handling;
  return undefined;
}

/** `bytes` with each 0xFF doubled (Telnet's escape for a literal IAC). */
export function doubleIac(bytes: Buffer): Buffer {
  let count = 0;
  for (let at = bytes.indexOf(IAC); at !== -1; at = bytes.indexOf(IAC, at + 1)) count++;
  if (count === 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length + count);
  let n = 0;
  for (const byte of bytes) {
    out[n++] = byte;
    if (byte === IAC) out[n++] = IAC;
  }
  return out;
}

/** The `telnetIac` option checked: undefined is "auto"; anything else unknown throws a TypeError (ERR_INVALID_ARG_VALUE). */
export function checkTelnetIac(value: string | undefined): TelnetIac {
  if (value === undefined) return "auto";
  if (value === "auto" || value === "double" || value === "raw" || value === "refuse") return value;
  throw Object.assign(new TypeError(`telnetIac must be "auto", "double", "raw" or "refuse", not ${JSON.stringify(value)}`), {
    code: "ERR_INVALID_ARG_VALUE",
  });
}
