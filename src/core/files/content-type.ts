/**
 * The Content-Type of a file: its type, and for text the encoding of its bytes.
 *
 * Type: the name decides when it can (mime-types, by extension: its answers, made a table at build
 * time, media-types.generated.ts); when it gives no type (no extension, or one no registry knows)
 * the bytes decide, by WHATWG MIME sniffing (mime-sniff.ts), so an HTML page named `about` is a
 * page and a `LICENSE` is text/plain.
 *
 * Charset, for text types only (text/*, JavaScript, JSON and the other types mime-db marks as
 * text, XML), in this order:
 * 1. a byte order mark: UTF-8, UTF-16LE or UTF-16BE (it decides in every browser anyway);
 * 2. what the file declares: HTML by `<meta charset>` / `<meta http-equiv="Content-Type">` in its
 *    first 1024 bytes (the HTML Standard's prescan, §13.2.3.2, as Chromium runs it: over parse5's
 *    tokenizer), XML by its declaration (`encoding-sniffer`), CSS by
 *    `@charset "…";` at its very start (CSS Syntax §3.2);
 *    labels are resolved by the WHATWG Encoding Standard's table (`gb2312` → GBK) and an unknown
 *    label declares nothing; a `<meta>` written in a script's string, a style or a title is none
 *    (Chromium's scan tokenizes; stating the bare prescan's find garbled the page there);
 * 3. UTF-8 when the bytes are valid UTF-8 (ASCII included) — but none for an HTML page whose
 *    head declares another encoding only past those 1024 bytes (metaDeclaration), so the
 *    browser treats that declaration as it does without Porthole, and none for 7-bit text in
 *    ISO-2022-JP (its escapes: valid UTF-8, which Chromium detects as Japanese when told nothing);
 * 4. otherwise no charset: the browser decides, as it would for a page opened from disk.
 * Saying `charset=utf-8` over a page's own `<meta charset="gbk">` made browsers show mojibake.
 *
 * Cost: decided once per file version. A cached file is decided when it enters the cache (its
 * bytes are in memory: one validity scan); a file streamed from disk is decided on its first
 * request from its first bytes and a UTF-8 scan of at most CHARSET_SCAN_MAX_BYTES, and the answer
 * is remembered by (device, inode, size, mtime, ctime).
 */
import { isUtf8 } from 'node:buffer';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { CHARSET_BY_TYPE, TYPE_BY_EXTENSION } from './media-types.generated';
import type * as SnifferModule from 'encoding-sniffer/sniffer' with { 'resolution-mode': 'import' };
import type * as Parse5Module from 'parse5';
import { RESOURCE_HEADER_BYTES, sniffUnknownType } from './mime-sniff';
import { labelToName } from './charset';

let snifferModule: typeof SnifferModule | undefined;
/**
 * encoding-sniffer, loaded at the first page or XML file decided, not with the server (an ES
 * module; require() of one works from Node 20.19 on, and esbuild bundles it into the CommonJS builds).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sniffer = (): typeof SnifferModule => (snifferModule ??= require('encoding-sniffer/sniffer') as typeof SnifferModule);
let parse5Module: typeof Parse5Module | undefined;
/** parse5 (its tokenizer), loaded at the first page decided, as encoding-sniffer is. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parse5 = (): typeof Parse5Module => (parse5Module ??= require('parse5') as typeof Parse5Module);
/** A state of parse5's tokenizer (HTML §13.2.5), one of TokenizerMode's. */
type TokenizerState = (typeof Parse5Module.TokenizerMode)[keyof typeof Parse5Module.TokenizerMode];

/** The HTML prescan looks at this many bytes (HTML Standard §13.2.3.2). */
const PRESCAN_BYTES = 1024;
/**
 * How far into an HTML page a `<meta>` declaration in its head is looked for (metaDeclaration;
 * Chromium looks as long as the head goes on): 1 MiB of a page in memory (a cached file, a page
 * read to be rewritten), the first SCAN_CHUNK_BYTES of one streamed from disk. Bounds the cost of
 * a page whose head never ends: a tokenizer pass over at most this much, once per version.
 */
const META_SCAN_MAX_BYTES = 1024 * 1024;
/** CSS Syntax §3.2: an `@charset` rule is looked for in the first 1024 bytes. */
const CSS_CHARSET_MAX_BYTES = 1024;
/**
 * A file streamed from disk (too big for the file cache) is scanned for UTF-8 validity up to this
 * many bytes, once per version; past it, the first part decides. Bounds the first request's cost.
 */
export const CHARSET_SCAN_MAX_BYTES = 16 * 1024 * 1024;
/** How much of a streamed file is read at a time while scanning. */
const SCAN_CHUNK_BYTES = 64 * 1024;
/** Decisions remembered for streamed files (one short string each). */
const MAX_REMEMBERED = 1024;

const nameTypes = new Map<string, string | undefined>();

/**
 * Extensions whose mime-db type is wrong in a web project's folder. `.cjs` is JavaScript (mime-db
 * says application/node, which a browser refuses to run as a script under nosniff). So are
 * `.jsonp` (a JSONP answer), `.es6` (an ES2015 module) and `.jsm` (a Firefox-style module), which
 * mime-db does not know: their bytes made them text/plain, refused as a script under nosniff.
 * `.ecma` is text/javascript too: mime-db's application/ecmascript runs, but it is obsolete (RFC
 * 9239 §6) and has no charset in mime-db, so a UTF-8 script was decoded in its page's encoding.
 * `.ts`, `.mts`, `.cts` and `.tsx` are TypeScript sources far more often than MPEG transport streams (mime-db's
 * video/mp2t made a source opened from a listing download as a video): the bytes decide
 * (sniffedType), so an HLS segment still goes as video/mp2t. `.rs` is Rust, not RLS services XML
 * (a browser rendered a source as XML), `.org` an Emacs Org file, not Lotus Organizer (it was
 * downloaded): the bytes decide too.
 */
const NAME_TYPE_OVERRIDES: Readonly<Record<string, string | undefined>> = {
  '.cjs': 'text/javascript',
  '.jsonp': 'text/javascript',
  '.es6': 'text/javascript',
  '.jsm': 'text/javascript',
  '.ecma': 'text/javascript',
  '.rs': undefined,
  '.org': undefined,
  '.ts': undefined,
  '.mts': undefined,
  '.cts': undefined,
  '.tsx': undefined,
};

/** The MPEG-TS packet size and sync byte (ISO/IEC 13818-1 §2.4.3.2). */
const MPEG_TS_PACKET = 188;
const MPEG_TS_SYNC = 0x47;

/**
 * The type of a file its name gives none for, from its first bytes: an MPEG transport stream
 * (a sync byte at each of the first packets' starts) named `.ts` is video/mp2t; anything else as
 * the WHATWG sniffing rules say (mime-sniff.ts).
 */
function sniffedType(name: string, bytes: Buffer): string {
  if (extname(name).toLowerCase() === '.ts' && bytes.length > 0 && bytes[0] === MPEG_TS_SYNC) {
    let packets = 0;
    for (let at = 0; at < bytes.length && packets < 4; at += MPEG_TS_PACKET, packets++) {
      if (bytes[at] !== MPEG_TS_SYNC) return sniffUnknownType(bytes);
    }
    return 'video/mp2t';
  }
  return sniffUnknownType(bytes);
}

/**
 * The type a file name gives (an essence such as `text/html`, no parameters), or undefined when
 * it gives none: no extension, or one mime-types does not know.
 */
export function typeFromName(name: string): string | undefined {
  const ext = extname(name).toLowerCase();
  if (ext.length === 0) return undefined;
  if (nameTypes.has(ext)) return nameTypes.get(ext);
  if (Object.hasOwn(NAME_TYPE_OVERRIDES, ext)) return NAME_TYPE_OVERRIDES[ext];
  const bare = ext.slice(1);
  const type = Object.hasOwn(TYPE_BY_EXTENSION, bare) ? TYPE_BY_EXTENSION[bare] : undefined;
  if (nameTypes.size < 1000) nameTypes.set(ext, type);
  return type;
}

/**
 * Whether mime-types' charset() gives `essence` a charset: mime-db names one for it, or it is
 * `text/*` (mime-types' default). The same test of the type as mime-types makes.
 */
function hasCharset(essence: string): boolean {
  const type = /^\s*([^;\s]*)(?:;|\s|$)/.exec(essence)?.[1];
  if (type === undefined) return false;
  return Object.hasOwn(CHARSET_BY_TYPE, type.toLowerCase()) || /^text\//i.test(type);
}

/** True for types whose bytes are text in some encoding (a charset parameter applies). */
export function isTextType(essence: string): boolean {
  return hasCharset(essence) || essence === 'application/xml' || essence.endsWith('+xml');
}

function isXmlType(essence: string): boolean {
  return essence === 'text/xml' || essence === 'application/xml' || essence.endsWith('+xml');
}

/** True when the name alone cannot decide the Content-Type (no type, or text needing a charset). */
export function typeNeedsBytes(name: string): boolean {
  const type = typeFromName(name);
  return type === undefined || isTextType(type);
}

/** The encoding a byte order mark names, or undefined. */
function bomEncoding(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/** CSS Syntax §3.2: `@charset "<label>";` as the file's first bytes; utf-16 labels mean UTF-8. */
function cssDeclaredEncoding(bytes: Uint8Array): string | undefined {
  const prefix = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, CSS_CHARSET_MAX_BYTES)).toString('latin1');
  if (!prefix.startsWith('@charset "')) return undefined;
  const end = prefix.indexOf('";', 10);
  if (end < 0) return undefined;
  const name = labelToName(prefix.slice(10, end));
  if (name === null) return undefined;
  return name === 'UTF-16LE' || name === 'UTF-16BE' ? 'UTF-8' : name;
}

/**
 * parse5's tokenizer, keeping a repeated attribute: Chromium's scan reads a `<meta>`'s attributes
 * as written, every one (a tree builder drops a repeat, HTML §13.2.5.33; the scan does not), so in
 * `<meta charset="windows-1252" charset="utf-8">` the last decides there.
 */
let metaScanTokenizer: (new (handler: Parse5Module.TokenHandler) => InstanceType<typeof Parse5Module.Tokenizer>) | undefined;
function newMetaScanTokenizer(handler: Parse5Module.TokenHandler): InstanceType<typeof Parse5Module.Tokenizer> {
  metaScanTokenizer ??= class extends parse5().Tokenizer {
    constructor(tokenHandler: Parse5Module.TokenHandler) {
      super({ sourceCodeLocationInfo: true }, tokenHandler);
    }
    protected override _leaveAttrName(): void {
      (this.currentToken as Parse5Module.Token.TagToken | null)?.attrs.push(this.currentAttr);
    }
  };
  return new metaScanTokenizer(handler);
}

/**
 * The tags that keep Chromium's scan in a page's head (HTMLMetaCharsetParser): any other start
 * or end tag ends it (`<html>` and `<head>` as start tags aside), `<div>`, `<p>`, `<svg>`,
 * `<template>`, `<body>` and `</head>` alike.
 */
const HEAD_SCAN_TAGS: ReadonlySet<string> = new Set(['script', 'noscript', 'style', 'link', 'meta', 'object', 'title', 'base']);

/**
 * The way most pages begin, read without a tokenizer: an optional `<!DOCTYPE html>` (no quoted
 * identifiers), `<html>` (attributes with plain double-quoted values or none), `<head>`, then
 * `<meta charset="label">` as the first tag with nothing else in it; the label in group 1, 2 or 3
 * (double-quoted, single-quoted, unquoted and ended by whitespace or `>`). Only ASCII whitespace
 * (Infra §4.6) between. A page that begins so is read the same by Chromium's tokenizing scan
 * (metaDeclaration): no comment, raw text, character reference, quoted `>` or repeated attribute
 * can come before or inside that meta. Any other beginning goes to the tokenizer, parse5, loaded
 * then; so a site of such pages never loads it in the server's thread (about 5 MB of memory and
 * 25 ms on its first page).
 */
const PLAIN_HEAD_META =
  /^[\t\n\f\r ]*(?:<!doctype[\t\n\f\r ]+html[\t\n\f\r ]*>[\t\n\f\r ]*)?(?:<html(?:[\t\n\f\r ]+[a-z][a-z-]*(?:="[^"<>&]*")?)*[\t\n\f\r ]*>[\t\n\f\r ]*)?(?:<head>[\t\n\f\r ]*)?<meta[\t\n\f\r ]+charset=(?:"([a-z0-9_.:-]+)"|'([a-z0-9_.:-]+)'|([a-z0-9_.:-]+)(?=[\t\n\f\r >]))[\t\n\f\r ]*\/?>/i;

/** What Chromium's scan finds: a `<meta>`'s declaration, and whether it began in the prescan's first 1024 bytes. */
interface MetaDeclaration {
  readonly encoding: string;
  readonly early: boolean;
}

/**
 * The first `<meta>` declaration of a page, found as Chromium's scan (HTMLMetaCharsetParser)
 * finds it: by HTML tokenization (§13.2.5, parse5's tokenizer) with scripting off, so a
 * `<meta charset>` written in a script's string, a style, a title, a comment or an attribute's
 * value is none, an element's text ends where its end tag does for the browser (`</script/>`,
 * `</style foo=bar>`, `<!--x--!>`, `<!-->`), and a `<noscript>`'s or a `<template>`'s content is
 * markup. The bare prescan (§13.2.3.2, Firefox's) reads bytes and took such text for a
 * declaration: stated, it garbled the page in Chromium (helper-122, helper-172, helper-173).
 *
 * Where it looks: every tag begun in the first PRESCAN_BYTES (one begun there is read to its
 * end), and past them while the page is still in its head (HEAD_SCAN_TAGS): a late meta after a
 * `<div>` or a `<p>`, or in the body, is none to Chromium (helper-174: stating no charset for it
 * made a UTF-8 page windows-1252 there), one in a long head counts however far in it is.
 *
 * `text`: the page's first bytes as Latin-1 (one UTF-16 code unit per byte). Undefined when
 * there is no declaration (encodingFromMetaAttributes) in what it looks at.
 */
function metaDeclaration(text: string): MetaDeclaration | undefined {
  const { TokenizerMode } = parse5();
  let found: MetaDeclaration | undefined;
  let inHead = true;
  const stop = (): void => tokenizer.pause();
  const ignore = (): void => undefined;
  const tokenizer = newMetaScanTokenizer({
    onStartTag(tag) {
      const at = tag.location?.startOffset ?? 0;
      if (!inHead && at >= PRESCAN_BYTES) return stop();
      const name = tag.tagName;
      if (name === 'meta') {
        const encoding = encodingFromMetaAttributes(tag.attrs);
        if (encoding !== undefined) {
          found = { encoding, early: at < PRESCAN_BYTES };
          return stop();
        }
      }
      if (!HEAD_SCAN_TAGS.has(name) && name !== 'html' && name !== 'head') inHead = false;
      const state = textStateAfter(name, TokenizerMode);
      if (state !== undefined) tokenizer.state = state;
      return undefined;
    },
    onEndTag(tag) {
      if (!HEAD_SCAN_TAGS.has(tag.tagName)) inHead = false;
    },
    onComment: ignore,
    onDoctype: ignore,
    onEof: ignore,
    onCharacter: ignore,
    onNullCharacter: ignore,
    onWhitespaceCharacter: ignore,
  });
  tokenizer.write(text, false);
  return found;
}

/**
 * The tokenizer state an HTML start tag named `name` puts the tokenizer in, as a parser with
 * scripting off does (HTML §13.2.6.4.4, §13.2.6.4.7), or undefined when it stays in the data state.
 */
function textStateAfter(name: string, mode: typeof Parse5Module.TokenizerMode): TokenizerState | undefined {
  switch (name) {
    case 'script':
      return mode.SCRIPT_DATA;
    case 'title':
    case 'textarea':
      return mode.RCDATA;
    case 'plaintext':
      return mode.PLAINTEXT;
    case 'style':
    case 'xmp':
    case 'iframe':
    case 'noembed':
    case 'noframes':
      return mode.RAWTEXT;
    default:
      return undefined;
  }
}

/**
 * The encoding a `<meta>` start tag's attributes (every one, in order, repeats included) declare,
 * as Chromium reads them (EncodingFromMetaAttributes; HTML §13.2.3.2's step for `<meta` is the
 * same but for repeats): each `charset` replaces what came before it; a `content` counts until a
 * `charset` has come, and only beside an `http-equiv="content-type"`. The label is resolved by the
 * Encoding Standard's table, UTF-16 labels read as UTF-8 and x-user-defined as windows-1252
 * (§13.2.3.2). Undefined for none, or an unknown label.
 *
 * Chromium 12x, pages opened from disk: `charset="windows-1252" charset="utf-8"` is UTF-8;
 * `charset="iso-8859-2" charset="bogus"` declares nothing; a `content` after a `charset` is
 * ignored, a second `content` replaces the first.
 */
function encodingFromMetaAttributes(attrs: readonly { readonly name: string; readonly value: string }[]): string | undefined {
  let gotPragma = false;
  let mode: 'none' | 'charset' | 'pragma' = 'none';
  let label = '';
  for (const { name, value } of attrs) {
    if (name === 'http-equiv') {
      if (value.toLowerCase() === 'content-type') gotPragma = true;
    } else if (name === 'charset') {
      label = value;
      mode = 'charset';
    } else if (name === 'content' && mode !== 'charset') {
      label = charsetFromMetaContent(value) ?? '';
      if (label !== '') mode = 'pragma';
    }
  }
  if (mode === 'none' || (mode === 'pragma' && !gotPragma)) return undefined;
  return metaLabelEncoding(label);
}

/**
 * The encoding a `<meta>`'s charset label names (the Encoding Standard's table), UTF-16 labels
 * read as UTF-8 and x-user-defined as windows-1252 (HTML §13.2.3.2); undefined for an unknown label.
 */
function metaLabelEncoding(label: string): string | undefined {
  const encoding = labelToName(label);
  if (encoding === null) return undefined;
  if (encoding === 'UTF-16LE' || encoding === 'UTF-16BE') return 'UTF-8';
  return encoding === 'x-user-defined' ? 'windows-1252' : encoding;
}

/**
 * The charset label a `<meta>`'s `content` names, as Chromium extracts it (ExtractCharset; the
 * HTML Standard's "algorithm for extracting a character encoding from a meta element" but for
 * where an unquoted value ends): after a `charset` and `=` (whitespace, any code unit up to
 * U+0020, around it), a quoted value, or the text up to whitespace, a quote or `;`. Undefined when
 * there is none, or its quote is never closed.
 */
function charsetFromMetaContent(content: string): string | undefined {
  const lower = content.toLowerCase();
  const isSpace = (at: number): boolean => at < content.length && content.charCodeAt(at) <= 0x20;
  for (let position = 0; ; ) {
    const at = lower.indexOf('charset', position);
    if (at < 0) return undefined;
    position = at + 'charset'.length;
    let i = position;
    while (isSpace(i)) i++;
    if (content[i] !== '=') continue;
    i++;
    while (isSpace(i)) i++;
    const quote = content[i] === '"' || content[i] === "'" ? content[i++] : undefined;
    if (i >= content.length) return undefined;
    let end = i;
    while (end < content.length && (quote !== undefined ? content[end] !== quote : !isSpace(end) && !`"';`.includes(content[end] ?? ''))) end++;
    if (quote !== undefined && end === content.length) return undefined;
    return content.slice(i, end);
  }
}

/** A page's first bytes as text, one UTF-16 code unit per byte (Latin-1), at most `limit` of them. */
const latin1Text = (bytes: Uint8Array, limit: number): string => Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, limit)).toString('latin1');

/**
 * The encoding an XML declaration at the very start of `head` names (`<?xml version="1.0"
 * encoding="windows-1252"?>`), or the UTF-16 its bytes are in (`<\0?\0x\0m\0l\0`, no BOM);
 * undefined for none (encoding-sniffer). Chromium reads it in an HTML page too (helper-174:
 * stated UTF-8 over it, a page windows-1252 from disk was UTF-8 served).
 */
function xmlDeclaredEncoding(head: Uint8Array): string | undefined {
  const { Sniffer, ResultType } = sniffer();
  const first = head.length > PRESCAN_BYTES ? head.subarray(0, PRESCAN_BYTES) : head;
  const prescan = new Sniffer({ maxBytes: first.length });
  prescan.write(first);
  const kind = prescan.resultType;
  return kind === ResultType.XML_ENCODING || kind === ResultType.XML_PREFIX ? prescan.encoding : undefined;
}

/** True when `head` begins as an XML declaration does, in an 8-bit encoding or in UTF-16 (`<?x`). */
function beginsAsXmlDeclaration(head: Uint8Array): boolean {
  const [a, b, c, d] = head;
  return (a === 0x3c && b === 0x3f && c === 0x78) || (a === 0x3c && b === 0 && c === 0x3f && d === 0) || (a === 0 && b === 0x3c && c === 0 && d === 0x3f);
}

/**
 * The encoding the file's own bytes declare (not a BOM), or undefined, and for an HTML page
 * whether it came late (past the prescan's 1024 bytes, in the head: metaDeclaration): a page's
 * XML declaration, else its `<meta>` as Chromium's scan finds it (a UTF-8 page with
 * `'<meta charset="iso-8859-1">'` in a head script, helper-172, declares nothing); XML's by its
 * declaration; CSS's by its `@charset` rule.
 */
function declaredEncoding(essence: string, head: Uint8Array): { readonly encoding: string; readonly late: boolean } | undefined {
  if (essence === 'text/css') {
    const encoding = cssDeclaredEncoding(head);
    return encoding === undefined ? undefined : { encoding, late: false };
  }
  const html = essence === 'text/html';
  if (!html && !isXmlType(essence)) return undefined;
  const xml = !html || beginsAsXmlDeclaration(head) ? xmlDeclaredEncoding(head) : undefined;
  if (xml !== undefined) return { encoding: xml, late: false };
  if (!html) return undefined;
  const plain = PLAIN_HEAD_META.exec(latin1Text(head, PRESCAN_BYTES));
  const label = plain?.[1] ?? plain?.[2] ?? plain?.[3];
  const early = label === undefined ? undefined : metaLabelEncoding(label);
  if (early !== undefined) return { encoding: early, late: false };
  const meta = metaDeclaration(latin1Text(head, META_SCAN_MAX_BYTES));
  return meta === undefined ? undefined : { encoding: meta.encoding, late: !meta.early };
}

/**
 * What to state of the charset of text of type `essence` whose first bytes are `head`: a charset
 * (from a BOM, else the file's declaration); `none` (an HTML page that declares a non-UTF-8
 * encoding only past the prescan's 1024 bytes, in its head (metaDeclaration): Chromium acts on
 * such a late declaration, Firefox says it came too late; stating UTF-8 would make the
 * browser's encoding certain and hide what the page's own declaration does without Porthole, as
 * nginx sends it, with no charset; helper-120); or `scan`: UTF-8 when the bytes are valid UTF-8,
 * else none (the caller scans, the whole file or at most CHARSET_SCAN_MAX_BYTES of it).
 */
function charsetDecision(essence: string, head: Uint8Array): { readonly charset: string } | 'none' | 'scan' {
  const bom = bomEncoding(head);
  if (bom !== undefined) return { charset: bom };
  const declared = declaredEncoding(essence, head);
  if (declared === undefined) return 'scan';
  if (!declared.late) return { charset: declared.encoding.toLowerCase() };
  return declared.encoding === 'UTF-8' ? 'scan' : 'none';
}

/**
 * True when `bytes` (valid UTF-8) hold an ISO-2022-JP escape sequence (RFC 1468: ESC `$@`, `$B`,
 * `(J`, and JIS X 0212's `$(D`, JIS X 0201 katakana's `(I`): 7-bit Japanese text, which is
 * valid UTF-8 too. Stated UTF-8, Chromium showed the escapes (`\x1b$BF|K\8l…`) where, told no
 * charset, it detects ISO-2022-JP as it does from disk (helper-174). A terminal log's ESC `[`
 * is no such sequence.
 */
function hasIso2022JpEscape(bytes: Uint8Array): boolean {
  for (let at = bytes.indexOf(0x1b); at >= 0; at = bytes.indexOf(0x1b, at + 1)) {
    const [a, b, c] = [bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    if (a === 0x24 && (b === 0x40 || b === 0x42 || (b === 0x28 && c === 0x44))) return true;
    if (a === 0x28 && (b === 0x4a || b === 0x49)) return true;
  }
  return false;
}

function withCharset(essence: string, charset: string | undefined): string {
  return charset === undefined ? essence : `${essence}; charset=${charset}`;
}

/**
 * The Content-Type of a file named `name` whose whole content is `body` (a cached file, a page
 * read to be rewritten). `encoding`: set when we produced the bytes ourselves in a known encoding
 * (an editor's unsaved text, encoded as UTF-8): it is stated for text, whatever the text declares.
 */
export function contentTypeOf(name: string, body: Buffer, encoding?: string): string {
  const essence = typeFromName(name) ?? sniffedType(name, body);
  if (!isTextType(essence)) return essence;
  if (encoding !== undefined) return withCharset(essence, encoding);
  const decision = charsetDecision(essence, body);
  const charset = typeof decision === 'object' ? decision.charset : decision === 'scan' && isUtf8(body) && !hasIso2022JpEscape(body) ? 'utf-8' : undefined;
  return withCharset(essence, charset);
}

/** Content-Type by file version (versionKey), least recently used first. */
const remembered = new Map<string, string>();

function versionKey(name: string, st: Stats): string {
  return `${name}\u0000${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * The Content-Type of a file streamed from disk (open as `file`, `st` from the same descriptor):
 * decided from its first bytes and a UTF-8 scan (at most CHARSET_SCAN_MAX_BYTES), once per file
 * version. Rejects only when reading fails.
 */
export async function contentTypeOfFile(name: string, file: FileHandle, st: Stats): Promise<string> {
  const named = typeFromName(name);
  if (named !== undefined && !isTextType(named)) return named;
  const key = versionKey(name, st);
  const hit = remembered.get(key);
  if (hit !== undefined) {
    remembered.delete(key);
    remembered.set(key, hit);
    return hit;
  }
  const limit = Math.min(st.size, CHARSET_SCAN_MAX_BYTES);
  const chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(limit, 1)));
  const headLength = await readAt(file, chunk, 0, Math.min(chunk.length, limit));
  const head = Buffer.from(chunk.subarray(0, headLength));
  const essence = named ?? sniffedType(name, head.subarray(0, Math.max(RESOURCE_HEADER_BYTES, 4 * MPEG_TS_PACKET)));
  let type = essence;
  if (isTextType(essence)) {
    const decision = charsetDecision(essence, head);
    const charset =
      typeof decision === 'object' ? decision.charset : decision === 'scan' && !hasIso2022JpEscape(head) && (await isUtf8File(file, chunk, limit, limit === st.size)) ? 'utf-8' : undefined;
    type = withCharset(essence, charset);
  }
  remembered.set(key, type);
  if (remembered.size > MAX_REMEMBERED) {
    const oldest = remembered.keys().next();
    if (oldest.done !== true) remembered.delete(oldest.value);
  }
  return type;
}

/** Reads up to `length` bytes at `position` into `buf` (from 0); returns how many were read. */
async function readAt(file: FileHandle, buf: Buffer, position: number, length: number): Promise<number> {
  let offset = 0;
  while (offset < length) {
    const { bytesRead } = await file.read(buf, offset, length - offset, position + offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset;
}

/**
 * True when the first `limit` bytes of the file are valid UTF-8. `whole`: `limit` is the file's
 * end, so a sequence cut off there is invalid; otherwise a sequence cut by the limit is allowed.
 */
async function isUtf8File(file: FileHandle, chunk: Buffer, limit: number, whole: boolean): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    for (let position = 0; position < limit; ) {
      const n = await readAt(file, chunk, position, Math.min(chunk.length, limit - position));
      if (n === 0) break;
      decoder.decode(chunk.subarray(0, n), { stream: true });
      position += n;
    }
    if (whole) decoder.decode();
    return true;
  } catch (err) {
    if (err instanceof TypeError) return false;
    throw err;
  }
}

