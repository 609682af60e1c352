/**
 * Live-reload injection, pure functions: which requests get the client script, and where in the
 * HTML bytes it goes.
 *
 * Invariants:
 * - Only top-level navigations are injected (`isNavigationRequest`): never fetch()/XHR, iframes,
 *   subresources. The one iframe that is: the editor's preview document, whose URL carries
 *   PREVIEW_QUERY_PARAMETER (the preview shows the page in an iframe of a webview). Non-HTML files never reach `injectClientTag` (the caller checks the type).
 * - The page's bytes are never re-encoded: tags are searched in a latin1 view (one char per byte,
 *   so indexes are byte offsets) and the script tag is spliced in between two byte slices. The
 *   result's `length` is therefore the exact Content-Length, whatever the page's encoding
 *   (any ASCII-compatible one; UTF-16 pages are left alone).
 */
import type { HeaderList } from '../http/request-record';
import { PREVIEW_QUERY_PARAMETER } from '../options';

/** The attribute on `<body>` that opts a page out of injection. */
const OPT_OUT_ATTRIBUTE = 'data-porthole-no-reload';

/**
 * True for a top-level navigation. Browsers that send Fetch Metadata say so exactly
 * (`Sec-Fetch-Dest: document`); without it: `Accept` names text/html, and nothing marks the
 * request as a fetch/XHR (`Sec-Fetch-Mode` other than navigate, `X-Requested-With`).
 * With `target` (the request-target, RFC 9112 §3.2) carrying PREVIEW_QUERY_PARAMETER, a frame
 * navigation (`Sec-Fetch-Dest: iframe` or `frame`, WHATWG Fetch "destination") counts too: that is
 * the editor's preview document. The page's own iframes never carry the parameter.
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
  if (dest !== undefined) {
    const d = dest.trim().toLowerCase();
    return d === 'document' || ((d === 'iframe' || d === 'frame') && target !== undefined && isPreviewTarget(target));
  }
  if (mode !== undefined && mode.trim().toLowerCase() !== 'navigate') return false;
  if (requestedWith !== undefined) return false;
  return accept !== undefined && /(^|[\s,])text\/html\s*(;|,|$)/i.test(accept);
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

/** `</body>` closing tags (optional space before `>`), case-insensitive. */
const BODY_CLOSE = /<\/body\s*>/gi;
/** The `<head>` open tag, attributes allowed, but not `<header>`. */
const HEAD_OPEN = /<head(?:\s[^>]*)?>/i;
/** A `<body ...>` open tag carrying the opt-out attribute (any case, with or without a value). */
const BODY_OPT_OUT = new RegExp(`<body(?:\\s[^>]*)?\\s${OPT_OUT_ATTRIBUTE}(?:[\\s=>/]|$)`, 'i');

export type InjectResult =
  | { readonly kind: 'injected'; readonly body: Buffer; readonly at: 'before-body-close' | 'after-head-open' | 'appended' }
  | { readonly kind: 'opted-out' }
  | { readonly kind: 'unsupported'; readonly reason: string };

/**
 * Inserts `tag` (ASCII) before the LAST `</body>` (an earlier one may sit inside a script string),
 * else right after the `<head ...>` open tag, else at the end. A page whose `<body>` carries
 * `data-porthole-no-reload` is left alone (`opted-out`), as is a UTF-16 page (`unsupported`).
 */
export function injectClientTag(html: Buffer, tag: string): InjectResult {
  if (html.length >= 2 && ((html[0] === 0xff && html[1] === 0xfe) || (html[0] === 0xfe && html[1] === 0xff))) {
    return { kind: 'unsupported', reason: 'UTF-16 page' };
  }
  const text = html.toString('latin1');
  if (BODY_OPT_OUT.test(text)) return { kind: 'opted-out' };
  const tagBytes = Buffer.from(tag, 'latin1');
  let last = -1;
  BODY_CLOSE.lastIndex = 0;
  for (let m = BODY_CLOSE.exec(text); m !== null; m = BODY_CLOSE.exec(text)) last = m.index;
  if (last >= 0) return { kind: 'injected', body: splice(html, last, tagBytes), at: 'before-body-close' };
  const head = HEAD_OPEN.exec(text);
  if (head !== null) {
    return { kind: 'injected', body: splice(html, head.index + head[0].length, tagBytes), at: 'after-head-open' };
  }
  return { kind: 'injected', body: Buffer.concat([html, tagBytes]), at: 'appended' };
}

function splice(bytes: Buffer, at: number, insert: Buffer): Buffer {
  return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
}
