/**
 * Charset labels (WHATWG Encoding §4.2) as far as rewriting a page needs them: the charset a
 * Content-Type names, and whether ASCII bytes spliced into text in that encoding stay ASCII text.
 * A module of its own, so that the page planner's thread (page-plan-worker.ts) loads the
 * Encoding Standard's label table and nothing of the type tables.
 */
import type * as EncodingModule from '@exodus/bytes/encoding-lite.js' with { 'resolution-mode': 'import' };

let encodingModule: typeof EncodingModule | undefined;

/**
 * The Encoding Standard's name of the encoding `label` stands for (WHATWG Encoding §4.2: case and
 * surrounding ASCII whitespace ignored), or null for a label of none. The label table is loaded
 * at the first call, not with the server: its tables cost every start a few ms (an ES module;
 * require() of one works from Node 20.19 on, and esbuild bundles it into the CommonJS builds).
 */
export function labelToName(label: string): string | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  encodingModule ??= require('@exodus/bytes/encoding-lite.js') as typeof EncodingModule;
  return encodingModule.labelToName(label);
}

/**
 * The `charset` parameter of a Content-Type field value (RFC 9110 §8.3.1, §5.6.6: parameter names
 * are case-insensitive, the value a token or a quoted-string), or undefined when there is none.
 */
export function charsetParameter(contentType: string): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  if (match === null) return undefined;
  return (match[1] ?? match[2] ?? '').trim() || undefined;
}

/**
 * False when text labelled `charset` (any WHATWG Encoding label) is in an encoding where ASCII
 * bytes do not stand for ASCII characters everywhere: UTF-16LE/BE (two bytes per unit),
 * ISO-2022-JP (escape sequences switch the meaning of ASCII bytes) and the replacement encoding
 * (ISO-2022-KR, HZ…, which browsers decode to one U+FFFD). Splicing ASCII into such a page
 * corrupts it. An unknown label counts as compatible: browsers then fall back to an ASCII-compatible
 * encoding (Encoding Standard §4.2 "get an encoding" fails → the default).
 */
export function isAsciiCompatibleCharset(charset: string): boolean {
  const name = labelToName(charset);
  return name !== 'UTF-16LE' && name !== 'UTF-16BE' && name !== 'ISO-2022-JP' && name !== 'replacement';
}

/**
 * False when a page's own declaration of `label` (a `<meta charset>`, a `<meta http-equiv>`'s
 * content) makes the browser read the page in an encoding that is not ASCII-compatible. A meta
 * never makes a page UTF-16: the prescan and a change of encoding while parsing both take UTF-16BE
 * and UTF-16LE for UTF-8 (WHATWG HTML §13.2.3.2, §13.2.3.4), as Chromium does (a page converted
 * from Word's `charset=unicode` is read as UTF-8 or its default); ISO-2022-JP and the replacement
 * encoding stay as declared. A Content-Type's charset is no declaration of the page's
 * (isAsciiCompatibleCharset: UTF-16 there is UTF-16).
 */
export function isAsciiCompatibleDeclaration(label: string): boolean {
  const name = labelToName(label);
  return name === 'UTF-16LE' || name === 'UTF-16BE' || isAsciiCompatibleCharset(label);
}

/**
 * Every label written after `charset=` in `text` (case-insensitive, quotes and spaces allowed
 * around it): a Content-Type's parameters in any of its values (Fetch's "extract a MIME type"
 * takes the last, so a gate must see them all), or a page's `<meta charset>` and
 * `<meta http-equiv content>` wherever they are (browsers honour some past the prescan's 1024
 * bytes, and `<meta/charset=…>` spellings). Over-inclusive on purpose: for refusing a rewrite.
 */
export function declaredCharsets(text: string): string[] {
  const labels: string[] = [];
  for (const m of text.matchAll(/charset\s*=\s*["']?\s*([A-Za-z0-9._:+-]+)/gi)) if (m[1] !== undefined) labels.push(m[1]);
  return labels;
}
