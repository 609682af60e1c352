/**
 * Live-reload injection, pure functions: which requests get the client script, and where in the
 * HTML bytes it goes.
 *
 * Invariants:
 * - Only top-level navigations are injected (`isNavigationRequest`): never fetch()/XHR, iframes,
 *   subresources. The one iframe that is: the editor's preview document, whose URL carries
 *   PREVIEW_QUERY_PARAMETER (the preview shows the page in an iframe of a webview). A navigation
 *   a service worker passes on cannot say whether it is a frame's; it is injected, and the client
 *   stands down in a frame of a page that runs it. Non-HTML
 *   files never reach `injectClientTag` (the caller checks the type).
 * - The insertion point is found by HTML tokenization and tree construction (parse5, which follows
 *   the WHATWG HTML parsing algorithm), never by searching text: a `</body>` inside a script string,
 *   a comment, a style sheet, a template, a CDATA section or an attribute value is not a tag, and
 *   our tag never lands inside one of those. The page is parsed once; a position is taken only
 *   where the tag becomes an HTML `<script>` element outside any `<template>` and any open `<select>` (so the browser
 *   runs it): before the body's end tag when no SVG or MathML element is open there (the parser
 *   is then in the body, see below), else the first fallback that a parse of the page up to the
 *   tag, tag included, shows to be one (the parser's handling of the tag depends only on what
 *   comes before it).
 * - The page's bytes are never re-encoded: the page is parsed in a latin1 view (one char per byte,
 *   so offsets are byte offsets; every byte that matters to HTML syntax is ASCII) and the script
 *   tag is spliced in between two byte slices. The result's `length` is therefore the exact
 *   Content-Length, whatever the page's encoding (any ASCII-compatible one; UTF-16 pages are left
 *   alone).
 */
import type { DefaultTreeAdapterMap } from 'parse5';
import type * as Parse5Module from 'parse5';
import type { HeaderList } from '../http/request-record';
import { acceptField, htmlAcceptance } from '../http/accept';
import { PREVIEW_QUERY_PARAMETER } from '../options';
import { declaredCharsets, isAsciiCompatibleCharset, isAsciiCompatibleDeclaration, labelToName } from '../files/charset';

/** The attribute on `<body>` that opts a page out of injection. */
const OPT_OUT_ATTRIBUTE = 'data-porthole-no-reload';

/**
 * True for a top-level navigation. Browsers that send Fetch Metadata say so exactly
 * (`Sec-Fetch-Dest: document`); without it: `Accept` names text/html, and nothing marks the
 * request as a fetch/XHR (`Sec-Fetch-Mode` other than navigate, `X-Requested-With`).
 * With `target` (the request-target, RFC 9112 §3.2) carrying PREVIEW_QUERY_PARAMETER, a frame
 * navigation (`Sec-Fetch-Dest: iframe` or `frame`, WHATWG Fetch "destination") counts too: that is
 * the editor's preview document. The page's own iframes never carry the parameter.
 * A service worker's pass-through of a navigation (`Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest:
 * empty`, as Chromium sends it) counts too: without it a page under a service worker (a PWA in
 * development) was served without the client from its second load on, and never reloaded again.
 * One without `Accept: text/html` does not: Chromium sends a download (`<a download>`) so, and
 * the saved file carried the tag.
 * `Accept` is judged by htmlAcceptance (RFC 9110 §12.5.1): without Fetch Metadata, and for a
 * service worker's pass-through, a `text/html` or `text/*` range above quality 0 must name HTML;
 * with `Sec-Fetch-Dest: document` (or a preview frame) it is a navigation unless Accept refuses
 * HTML (`text/html;q=0`, or only other types): a client that says HTML is not acceptable
 * (§12.4.2) never gets a page made for a tab.
 */
export function isNavigationRequest(headers: HeaderList, target?: string): boolean {
  let dest: string | undefined;
  let mode: string | undefined;
  let accept: string | undefined;
  let requestedWith: string | undefined;
  for (const [name, value] of headers) {
    if (name === 'sec-fetch-dest') dest ??= value;
    else if (name === 'sec-fetch-mode') mode ??= value;
    else if (name === 'accept') accept = accept === undefined ? value : `${accept},${value}`;
    else if (name === 'x-requested-with') requestedWith ??= value;
  }
  const m = mode?.trim().toLowerCase();
  if (dest !== undefined) {
    const d = dest.trim().toLowerCase();
    // A navigation a service worker passes on (`fetch(event.request)`, Workbox's NetworkFirst…)
    // keeps its mode but loses its destination: Chromium sends `Sec-Fetch-Dest: empty` with
    // `Sec-Fetch-Mode: navigate`. No fetch() or XHR can have that mode (the Request constructor
    // refuses it), so it is a navigation; whether of a tab or of a frame cannot be told (the client
    // stands down in a frame whose page runs it: live-reload-client).
    // A download (`<a download>`) has the same mode and destination but no Accept: the
    // pass-through keeps the navigation's `Accept: text/html,…`, and only that is a page shown.
    if (d === 'empty' && m === 'navigate') return htmlAcceptance(accept) === 'named';
    const shown = d === 'document' || ((d === 'iframe' || d === 'frame') && target !== undefined && isPreviewTarget(target));
    return shown && htmlAcceptance(accept) !== 'refused';
  }
  if (m !== undefined && m !== 'navigate') return false;
  if (requestedWith !== undefined) return false;
  return htmlAcceptance(accept) === 'named';
}

/**
 * True for a navigation of any browsing context: a top-level one (isNavigationRequest) or a
 * frame's (`Sec-Fetch-Dest: iframe` or `frame`, WHATWG Fetch "destination"). What the SPA
 * fallback answers: an app embedded in an `<iframe>` (a docs page, a Storybook-style host) is
 * navigated there, and nginx's `try_files`, Vite and Five Server answer it (helper-55). Live
 * reload still injects only top-level navigations (the page's own frames reload with it).
 */
export function isDocumentNavigation(headers: HeaderList): boolean {
  for (const [name, value] of headers) {
    if (name !== 'sec-fetch-dest') continue;
    const d = value.trim().toLowerCase();
    if (d === 'iframe' || d === 'frame') return htmlAcceptance(acceptField(headers)) !== 'refused';
    break;
  }
  return isNavigationRequest(headers);
}

/**
 * True when the request-target's query (RFC 3986 §3.4) has a PREVIEW_QUERY_PARAMETER field
 * (`name` or `name=value`, fields separated by `&`).
 */
export function isPreviewTarget(target: string): boolean {
  const q = target.indexOf('?');
  if (q < 0) return false;
  const hash = target.indexOf('#', q);
  const query = target.slice(q + 1, hash < 0 ? undefined : hash);
  return query.split('&').some((field) => (field.split('=', 1)[0] ?? '') === PREVIEW_QUERY_PARAMETER);
}

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];
type Document = DefaultTreeAdapterMap['document'];

/** The HTML namespace (Infra §8), parse5's `html.NS.HTML`. */
const HTML_NS = 'http://www.w3.org/1999/xhtml' as Parse5Module.html.NS.HTML;

/**
 * parse5, loaded when the first page is injected: it (with its entities tables) is a good part
 * of the CLI's start-up time, and a server that never serves a page needs none of it.
 */
let parse5Module: typeof Parse5Module | undefined;
function parse(text: string, options: { sourceCodeLocationInfo: boolean }): Document {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  parse5Module ??= require('parse5') as typeof Parse5Module;
  return parse5Module.parse(text, options);
}
/** The attribute our tag carries; the check parse finds the tag by it. */
const CLIENT_ATTRIBUTE = 'data-porthole-client';

/** Where the tag went, in order of preference. */
export type Placement =
  | 'before-base'
  | 'after-charset-meta'
  | 'before-body-close'
  | 'appended'
  | 'before-head-close'
  | 'after-head-open'
  | 'after-html-open'
  | 'document-start';

/**
 * Which end of the page the tag should go to: `end` (before `</body>`, after the page's content;
 * live reload alone needs nothing earlier), or `head` (before the page's own scripts, so that
 * console forwarding sees what they log and throw while the page loads).
 */
export type PlacementWish = 'end' | 'head';

/** A `<meta http-equiv="Content-Security-Policy">` of the page's `<head>` (it applies to the page). */
export interface CspMeta {
  /** Byte range of the whole `content="…"` attribute in the page. */
  readonly start: number;
  readonly end: number;
  /** The policy as the browser reads it (character references decoded). */
  readonly policy: string;
}

/** What a page needs, found once per version of the page (parsing is the costly part). */
export type PagePlan =
  | { readonly kind: 'inject'; readonly offset: number; readonly at: Placement; readonly csp: readonly CspMeta[] }
  | { readonly kind: 'opted-out' }
  /** `transient`: says nothing of the page (the planner was busy): not to be kept as its plan. */
  | { readonly kind: 'unsupported'; readonly reason: string; readonly transient?: boolean };

export type InjectResult =
  | { readonly kind: 'injected'; readonly body: Buffer; readonly at: Placement }
  | { readonly kind: 'opted-out' }
  | { readonly kind: 'unsupported'; readonly reason: string };

/**
 * Where `tag` goes in `html`, by parsing it as a browser does (WHATWG HTML §13.2):
 * 1. before the `</body>` end tag that closed the body element;
 * 2. else at the end of the page (no `</body>`, as in many small pages);
 * 3. else before `</head>`, after the `<head …>` start tag, or at the start of the page (after a
 *    UTF-8 BOM and the doctype).
 * With `wish` `head` (console forwarding on), first: right after the head's charset declaration
 * (`<meta charset>` or `<meta http-equiv="content-type">`, kept first so that it stays within the
 * 1024 bytes the encoding prescan reads, WHATWG HTML §13.2.3.2), else, when the head has none,
 * right after the `<head …>` start tag, else right after the `<html …>` start tag (no head tag),
 * else at the start of the page (after the BOM and the doctype); where none of those runs the tag,
 * the `end` order above.
 * A candidate is taken only where `tag` becomes an HTML script element outside any template and
 * any open select (insideSelect);
 * none → `unsupported`. A page whose body carries
 * `data-porthole-no-reload` (as the parser merges body attributes) is `opted-out`; a UTF-16 page
 * is `unsupported`. `tag` must be ASCII and carry `data-porthole-client`. Also lists the page's
 * Content-Security-Policy metas (see CspMeta).
 * A page with a `<base` tag anywhere in its text (firstBaseText: a browser may take it for the
 * base element, WHATWG HTML §4.2.3, even where parse5 does not) gets the tag before it, wherever the
 * wish would put it: a script's src is resolved when the parser inserts it (§4.12.1.1 "prepare
 * the script element"), so before any base it resolves against the page's own URL, never against
 * a base on another origin (which would run that origin's script). No place there → `unsupported`.
 * `charset`: the encoding the page is labelled with (its Content-Type's charset); a page in an
 * encoding that is not ASCII-compatible (isAsciiCompatibleCharset) is `unsupported`, like one
 * with a UTF-16 byte order mark or, when neither a UTF-8 byte order mark nor `charset` (a label
 * the Encoding Standard knows) decides its encoding, one whose bytes declare such an encoding
 * anywhere (declaredCharsets: a `<meta charset>` past the prescan's 1024 bytes, `<meta/charset=…>`;
 * isAsciiCompatibleDeclaration: a meta's UTF-16 is read as UTF-8).
 * Cost: one parse of the page (about 0.5 s per MiB, more for pathological nesting: see
 * page-planner.ts, which runs this off the server's thread with a time limit), plus one of the
 * part before each fallback tried. A page of `earlyParseMinChars` or more placed early (the head
 * wish, a `<base>`) is parsed only up to its body's start when that decides (earlyDocument): its
 * head's size, not the page's (a 2.7 MB report: 0.9 s → 0.09 s). The plan is the same either way;
 * `earlyParseMinChars` is for tests that compare the two (Infinity: always the whole page).
 */
export function planPage(html: Buffer, tag: string, wish: PlacementWish = 'end', charset?: string, earlyParseMinChars = EARLY_PARSE_MIN_CHARS): PagePlan {
  if (html.length >= 2 && ((html[0] === 0xff && html[1] === 0xfe) || (html[0] === 0xfe && html[1] === 0xff))) {
    return { kind: 'unsupported', reason: 'UTF-16 page' };
  }
  if (charset !== undefined && !isAsciiCompatibleCharset(charset)) return { kind: 'unsupported', reason: `page in ${charset} (not ASCII-compatible)` };
  const bom = html.length >= 3 && html[0] === 0xef && html[1] === 0xbb && html[2] === 0xbf ? 3 : 0;
  const text = html.toString('latin1', bom);
  // The page's own declarations, wherever they are (a browser may follow one the prescan missed),
  // but only where the browser reads them: a byte order mark, then an encoding the Content-Type
  // names, decide with confidence "certain" before any meta (WHATWG HTML §13.2.3.1): a page
  // labelled utf-8 that mentions `charset=utf-16` (a meta, a code sample) is UTF-8 in the browser.
  if (bom === 0 && (charset === undefined || labelToName(charset) === null)) {
    const declared = declaredCharsets(text).find((label) => !isAsciiCompatibleDeclaration(label));
    if (declared !== undefined) return { kind: 'unsupported', reason: `page declares ${declared} (not ASCII-compatible)` };
  }
  const base = firstBaseText(text);
  // Placed early (the head wish, or before a `<base>`): a long page is parsed only up to its
  // body's start, which decides every early place (earlyDocument); the whole page only when none
  // of them runs the tag, or when a later `<body>` tag may carry the opt-out attribute.
  if (wish === 'head' || base !== undefined) {
    const early = earlyDocument(text, earlyParseMinChars);
    if (early !== undefined && !OPT_OUT_PATTERN.test(text.slice(early.bodyBegan))) {
      const plan = earlyPlan(early.doc, text, base, wish, tag, bom);
      if (plan !== undefined) return plan;
    }
  }
  const doc = parse(text, { sourceCodeLocationInfo: true });
  const htmlElement = childElement(doc, 'html');
  const head = htmlElement === undefined ? undefined : childElement(htmlElement, 'head');
  const body = htmlElement === undefined ? undefined : childElement(htmlElement, 'body');
  const plan = earlyPlan(doc, text, base, wish, tag, bom);
  if (plan !== undefined) return plan;
  const candidates: Array<[number | undefined, Placement]> = [
    [body?.sourceCodeLocation?.endTag?.startOffset, 'before-body-close'],
    [text.length, 'appended'],
    [head?.sourceCodeLocation?.endTag?.startOffset, 'before-head-close'],
    [head?.sourceCodeLocation?.startTag?.endOffset, 'after-head-open'],
    [documentStart(doc, text), 'document-start'],
    [doctypeEnd(doc), 'document-start'],
  ];
  // parse5 records the body's end tag when a `</body>` closed it in the body insertion mode (never
  // inside a template, a table, a select): the tag goes into the body there, unless an SVG or
  // MathML element is still open, which would make it a foreign script.
  const bodyEnd = candidates[0]?.[0];
  if (bodyEnd !== undefined && !foreignOpenAt(doc, bodyEnd)) {
    return { kind: 'inject', offset: bodyEnd + bom, at: 'before-body-close', csp: cspMetas(head, bom) };
  }
  const tried = new Set<number>(bodyEnd === undefined ? [] : [bodyEnd]);
  for (const [offset, at] of candidates) {
    if (offset === undefined || tried.has(offset)) continue;
    tried.add(offset);
    if (runsAt(text, offset, tag)) return { kind: 'inject', offset: offset + bom, at, csp: cspMetas(head, bom) };
  }
  return { kind: 'unsupported', reason: 'no place in the page where the reload script would run' };
}

/**
 * Pages at least this long (characters: bytes, read as latin1) that take the tag early are parsed
 * first only as far as their body's start (earlyDocument). Below it a whole parse costs little.
 */
export const EARLY_PARSE_MIN_CHARS = 16 * 1024;

/** A body start tag's text, any case (where earlyDocument's first prefix ends, past it). */
const BODY_TAG_TEXT = /<body/i;
/** How far past the first `<body` text the first prefix reaches: its attributes, and a token after it. */
const EARLY_PARSE_MARGIN_CHARS = 4096;

/** The opt-out attribute's name anywhere in a text, any case (attribute names are ASCII case-insensitive). */
const OPT_OUT_PATTERN = new RegExp(OPT_OUT_ATTRIBUTE, 'i');

/**
 * The page's tree up to its body's start, from a parse of a prefix of `text` only, and where in
 * `text` the body had begun (past its start tag, or its first node when it has none); undefined
 * when the page is shorter than `minChars` (EARLY_PARSE_MIN_CHARS) or no prefix under half the
 * page holds the body's start (a frameset, a head as long as the page). A parse builds each node
 * from the tokens before it alone, so a prefix's tree is the page's up to its last token; and the
 * head is complete once the body exists: in the body, a `<meta>`, `<link>` or `<base>` goes into
 * the body (WHATWG HTML §13.2.6.4.7), so the charset declaration, the CSP metas and every early
 * place are the page's own. What may differ is the body's attributes (a later `<body>` tag adds
 * its own: planPage parses the whole page when the rest names the opt-out attribute) and what the
 * prefix's end makes (a body implied at the end of the input is not the page's: the body must
 * have begun with a token that ended inside the prefix). The prefix doubles from `minChars`, or
 * from past the first `<body` in the text. helper-139: a 2.7 MB report took 0.9–1.5 s to plan on
 * every save, the whole page parsed to place the tag after its `<meta charset>`.
 */
function earlyDocument(text: string, minChars: number): { doc: Document; bodyBegan: number } | undefined {
  // From past the first `<body` in the text (the body's tag, most often, or a mention of one
  // before it), and only while a prefix is under half the page: the prefixes tried then cost
  // less than one whole parse, which follows when none decides (helper-143: a page that is
  // mostly its head, an inline script or a frameset, took twice the whole parse's time).
  const bodyText = BODY_TAG_TEXT.exec(text)?.index;
  const first = Math.max(minChars, bodyText === undefined ? 0 : bodyText + EARLY_PARSE_MARGIN_CHARS);
  for (let length = first; length < text.length / 2; length *= 2) {
    const doc = parse(text.slice(0, length), { sourceCodeLocationInfo: true });
    const htmlElement = childElement(doc, 'html');
    const body = htmlElement === undefined ? undefined : childElement(htmlElement, 'body');
    const began = body?.sourceCodeLocation?.startTag?.endOffset ?? body?.childNodes[0]?.sourceCodeLocation?.endOffset;
    if (began !== undefined && began < length) return { doc, bodyBegan: began };
  }
  return undefined;
}

/**
 * planPage's early places in `doc` (the page's tree, or earlyDocument's: the same up to the body's
 * start): `opted-out` for a body with the opt-out attribute; before the first `<base` (`base`, its
 * offset in `text`) when there is one (`unsupported` when no place there runs the tag); with the
 * head wish, after the charset declaration, else after `<head>`, `<html>`, the document's start.
 * Undefined when the tag goes by the `end` order (no base, and the wish is `end` or no early place
 * runs it).
 */
function earlyPlan(doc: Document, text: string, base: number | undefined, wish: PlacementWish, tag: string, bom: number): PagePlan | undefined {
  const htmlElement = childElement(doc, 'html');
  const head = htmlElement === undefined ? undefined : childElement(htmlElement, 'head');
  const body = htmlElement === undefined ? undefined : childElement(htmlElement, 'body');
  if (body !== undefined && body.attrs.some((a) => a.name === OPT_OUT_ATTRIBUTE)) return { kind: 'opted-out' };
  if (base !== undefined) {
    // Before every `<base` in the page, as late as the wish allows: after the charset declaration
    // when it comes first (it must stay within the prescan's 1024 bytes), else right before it,
    // else after `<head>`, `<html>`, the doctype.
    const early: Array<[number | undefined, Placement]> = [
      [charsetMetaEnd(head), 'after-charset-meta'],
      [base, 'before-base'],
      [head?.sourceCodeLocation?.startTag?.endOffset, 'after-head-open'],
      [afterHtmlOpen(htmlElement, text), 'after-html-open'],
      [documentStart(doc, text), 'document-start'],
      [doctypeEnd(doc), 'document-start'],
    ];
    for (const [offset, at] of early) {
      if (offset !== undefined && offset <= base && runsAt(text, offset, tag)) return { kind: 'inject', offset: offset + bom, at, csp: cspMetas(head, bom) };
    }
    return { kind: 'unsupported', reason: 'no place before the page\'s <base> where the reload script would run' };
  }
  if (wish === 'head') {
    const charset = charsetMetaEnd(head);
    const early: Array<[number | undefined, Placement]> =
      charset !== undefined
        ? [[charset, 'after-charset-meta']]
        : [
            [head?.sourceCodeLocation?.startTag?.endOffset, 'after-head-open'],
            [afterHtmlOpen(htmlElement, text), 'after-html-open'],
            [documentStart(doc, text), 'document-start'],
            [doctypeEnd(doc), 'document-start'],
          ];
    for (const [offset, at] of early) {
      if (offset !== undefined && runsAt(text, offset, tag)) return { kind: 'inject', offset: offset + bom, at, csp: cspMetas(head, bom) };
    }
  }
  return undefined;
}

/** `html` with `tag` at `plan.offset` (planPage's result for the same bytes). */
export function applyPlan(html: Buffer, offset: number, tag: string): Buffer {
  return splice(html, offset, Buffer.from(tag, 'latin1'));
}

/** planPage + applyPlan in one step (tests, callers that do not cache the plan). */
export function injectClientTag(html: Buffer, tag: string, wish: PlacementWish = 'end'): InjectResult {
  const plan = planPage(html, tag, wish);
  if (plan.kind !== 'inject') return plan;
  return { kind: 'injected', body: applyPlan(html, plan.offset, tag), at: plan.at };
}

/** True when an SVG or MathML element starts before `offset` and is not closed by then. */
function foreignOpenAt(doc: Document, offset: number): boolean {
  const stack: Node[] = [...doc.childNodes];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    if (!('tagName' in node)) continue;
    // Elements the parser implied (html, head, body without their tags) have no location.
    const where = node.sourceCodeLocation;
    if (where !== undefined && where !== null) {
      if (where.startOffset >= offset) continue;
      if (node.namespaceURI !== HTML_NS && (where.endOffset === undefined || where.endOffset > offset)) return true;
    }
    for (const child of node.childNodes) stack.push(child);
  }
  return false;
}

/** True when `tag` spliced into `text` at `offset` becomes a script element the browser runs. */
function runsAt(text: string, offset: number, tag: string): boolean {
  // Only what comes before the tag decides how the parser takes it.
  const doc = parse(text.slice(0, offset) + tag, { sourceCodeLocationInfo: true });
  // childNodes only: a template's contents sit in `.content`, never reached from here.
  const stack: Node[] = [...doc.childNodes];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    if (!('tagName' in node)) continue;
    if (
      node.tagName === 'script' &&
      node.namespaceURI === HTML_NS &&
      node.sourceCodeLocation?.startTag?.startOffset === offset &&
      node.attrs.some((a) => a.name === CLIENT_ATTRIBUTE)
    ) {
      return !insideSelect(node);
    }
    for (const child of node.childNodes) stack.push(child);
  }
  return false;
}

/**
 * True when `node` is inside an HTML `<select>` still open where it was inserted. parse5 parses a
 * select's content in the older "in select" insertion mode, which drops `<svg>`, `<math>`,
 * `<style>`, `<xmp>`, `<iframe>`, `<noscript>`, `<plaintext>`…; Chromium parses it as body
 * content (customizable select), where each of those makes what follows foreign or raw text: a tag
 * placed there ran in parse5's tree and was inert in the browser. No place inside one is trusted.
 */
function insideSelect(node: Element): boolean {
  for (let up = node.parentNode; up !== null && 'tagName' in up; up = up.parentNode) {
    if (up.tagName === 'select' && up.namespaceURI === HTML_NS) return true;
  }
  return false;
}

/**
 * The end offset of the head's first element declaring the character encoding (`<meta charset>`,
 * or `<meta http-equiv="content-type" content>`, WHATWG HTML §4.2.5.5), else undefined.
 */
function charsetMetaEnd(head: Element | undefined): number | undefined {
  if (head === undefined) return undefined;
  for (const node of head.childNodes) {
    if (!('tagName' in node) || node.tagName !== 'meta' || node.namespaceURI !== HTML_NS) continue;
    const declares =
      node.attrs.some((a) => a.name === 'charset') ||
      (node.attrs.some((a) => a.name === 'http-equiv' && a.value.trim().toLowerCase() === 'content-type') && node.attrs.some((a) => a.name === 'content'));
    if (declares) return node.sourceCodeLocation?.endOffset;
  }
  return undefined;
}

/**
 * The offset of the first `<base` start tag in the page's text, whatever parse5 makes of it: a
 * browser's parser may put a base element in the document where parse5's does not (Chromium's
 * `<select>` parsing keeps a `<base>` inside it; parse5 drops it), and the first base element
 * in the document sets the base URL (WHATWG HTML §4.2.3). Over-inclusive on purpose (one in a
 * comment or a script string counts too): the tag only has to come first. Undefined when none.
 */
function firstBaseText(text: string): number | undefined {
  const m = /<base[\s/>]/i.exec(text);
  return m === null ? undefined : m.index;
}

/**
 * Where a tag at the document's start changes nothing else of the tree: after the doctype and the
 * comments that come before the first element (children of the Document), and after the
 * whitespace that follows them (ignored by the tree builder before `<html>`). Right after the
 * doctype, the tag made the head there: a comment after the doctype (`<!-- saved from url=… -->`)
 * and a line break moved into it (helper-120).
 */
function documentStart(doc: Document, text: string): number {
  let end = 0;
  for (const node of doc.childNodes) {
    if (node.nodeName !== '#documentType' && node.nodeName !== '#comment') break;
    end = node.sourceCodeLocation?.endOffset ?? end;
  }
  return afterWhitespace(text, end);
}

/**
 * Right after `<html …>`, past the comments the html element holds before its head and the
 * whitespace the tree builder ignores there (before head: HTML §13.2.6.4.3), so the tag leaves
 * them where they were; undefined without an `<html>` start tag.
 */
function afterHtmlOpen(htmlElement: Element | undefined, text: string): number | undefined {
  let end = htmlElement?.sourceCodeLocation?.startTag?.endOffset;
  if (htmlElement === undefined || end === undefined) return undefined;
  for (const node of htmlElement.childNodes) {
    if (node.nodeName !== '#comment') break;
    end = node.sourceCodeLocation?.endOffset ?? end;
  }
  return afterWhitespace(text, end);
}

/**
 * Right after the doctype (0 without one): the document start's fallback, where a tag runs when
 * what follows the doctype swallows it (a comment that never ends: `<!-- open`).
 */
function doctypeEnd(doc: Document): number {
  for (const node of doc.childNodes) {
    if (node.nodeName === '#documentType') return node.sourceCodeLocation?.endOffset ?? 0;
  }
  return 0;
}

/** The offset of the first character at or after `from` that is not ASCII whitespace (HTML's: tab, LF, FF, CR, space). */
function afterWhitespace(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d && c !== 0x20) break;
    i++;
  }
  return i;
}

function childElement(parent: Document | Element, name: string): Element | undefined {
  for (const node of parent.childNodes) {
    if ('tagName' in node && node.tagName === name && node.namespaceURI === HTML_NS) return node;
  }
  return undefined;
}

/** The head's `<meta http-equiv="content-security-policy" content>` elements (HTML §4.2.5.3). */
function cspMetas(head: Element | undefined, bom: number): CspMeta[] {
  const out: CspMeta[] = [];
  if (head === undefined) return out;
  for (const node of head.childNodes) {
    if (!('tagName' in node) || node.tagName !== 'meta') continue;
    const equiv = node.attrs.find((a) => a.name === 'http-equiv');
    const content = node.attrs.find((a) => a.name === 'content');
    const where = node.sourceCodeLocation?.attrs?.['content'];
    if (equiv === undefined || content === undefined || where === undefined) continue;
    if (equiv.value.trim().toLowerCase() !== 'content-security-policy') continue;
    out.push({ start: where.startOffset + bom, end: where.endOffset + bom, policy: content.value });
  }
  return out;
}

function splice(bytes: Buffer, at: number, insert: Buffer): Buffer {
  return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
}
