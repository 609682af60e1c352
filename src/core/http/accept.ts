/**
 * What a request's `Accept` field (RFC 9110 §12.5.1) says of HTML: the one judgement every place
 * that asks "does this client take an HTML page" shares (the SPA fallback, live reload's page
 * injection, the 404 page's client, the self-reloading 503 page).
 *
 * Grammar (RFC 9110 §12.5.1, §12.4.2, §5.6.6):
 *
 *   Accept      = #( media-range [ weight ] )
 *   media-range = ( "*" "/" "*" / ( type "/" "*" ) / ( type "/" subtype ) ) parameters
 *   parameters  = *( OWS ";" OWS [ parameter ] )    parameter = token "=" ( token / quoted-string )
 *   weight      = OWS ";" OWS "q=" qvalue
 *   qvalue      = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 *
 * Names are case-insensitive, so is `q`; parameters after the weight are accept-ext and ignored.
 * An element that breaks the grammar (no `/`, `*` as the type of a named subtype, a weight such
 * as `q=abc`, `q=1.5`, `q=0.0001`) is ignored, as Accept-Encoding's are (content-coding.ts): it
 * says nothing, never "everything". The most specific range that matches text/html gives its
 * quality (§12.5.1: `text/html;charset=utf-8` over `text/html` over `text/*` over `*\/*`; the
 * pages this judgement is for are UTF-8, so a range whose only parameter is `charset=utf-8` is
 * the most specific match, and one with any other parameter counts only when no plain
 * `text/html` is there); of equal ones the highest. Quality 0 means "not acceptable" (§12.4.2):
 * `text/html;q=0, text/html;charset=utf-8` takes a UTF-8 page.
 */
import { isToken } from './http-grammar';

/**
 * How `Accept` judges text/html:
 * - `named`: a `text/html` or `text/*` range gives it a quality above 0 (what a browser's
 *   navigation sends; a fetch(), curl and every subresource send `*\/*` or a type of their own);
 * - `any`: only `*\/*` takes it, above 0;
 * - `refused`: quality 0, or no range matches it (`Accept: image/png`);
 * - `unsaid`: no Accept field, or none of its elements could be read.
 */
export type HtmlAcceptance = 'named' | 'any' | 'refused' | 'unsaid';

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The judgement for an Accept field value (several field lines joined with `,`, RFC 9110 §5.3);
 * undefined: the request had none. A browser sends the same value with every request: the last
 * value judged is kept.
 */
export function htmlAcceptance(accept: string | undefined): HtmlAcceptance {
  if (accept === undefined) return 'unsaid';
  if (accept === lastValue) return lastJudgement;
  const judgement = judge(accept);
  lastValue = accept;
  lastJudgement = judgement;
  return judgement;
}

let lastValue: string | undefined;
let lastJudgement: HtmlAcceptance = 'unsaid';

/** Splits `text` at `sep` outside quoted strings (a `,` or `;` inside `"…"` is no separator). */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === sep) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const OWS = /^[ \t]+|[ \t]+$/g;

/**
 * One element read: its range, its quality, and its media-type parameters (`none`; `utf-8`: only
 * `charset=utf-8`, any case, quoted or not; `other`); undefined when malformed.
 */
function readElement(element: string): { type: string; subtype: string; q: number; params: 'none' | 'utf-8' | 'other' } | undefined {
  const pieces = splitOutsideQuotes(element, ';');
  const range = (pieces[0] ?? '').replace(OWS, '').toLowerCase();
  const slash = range.indexOf('/');
  if (slash < 0) return undefined;
  const type = range.slice(0, slash);
  const subtype = range.slice(slash + 1);
  if (!isToken(type) || !isToken(subtype) || (type === '*' && subtype !== '*')) return undefined;
  let q = 1;
  let params: 'none' | 'utf-8' | 'other' = 'none';
  for (let i = 1; i < pieces.length; i++) {
    const param = (pieces[i] ?? '').replace(OWS, '');
    if (param.length === 0) continue;
    const eq = param.indexOf('=');
    if (eq <= 0) return undefined;
    const name = param.slice(0, eq).toLowerCase();
    if (!isToken(name)) return undefined;
    if (name === 'q') {
      // The weight; what follows it is accept-ext, ignored.
      const value = param.slice(eq + 1);
      if (!QVALUE.test(value)) return undefined;
      q = Number(value);
      break;
    }
    const value = param.slice(eq + 1).replace(/^"(.*)"$/, '$1').toLowerCase();
    params = name === 'charset' && value === 'utf-8' && params === 'none' ? 'utf-8' : 'other';
  }
  return { type, subtype, q, params };
}

function judge(accept: string): HtmlAcceptance {
  let html: number | undefined;
  let htmlUtf8: number | undefined;
  let htmlWithParams: number | undefined;
  let text: number | undefined;
  let any: number | undefined;
  let read = false;
  for (const element of splitOutsideQuotes(accept, ',')) {
    if (element.replace(OWS, '').length === 0) continue;
    const e = readElement(element);
    if (e === undefined) continue;
    read = true;
    if (e.type === 'text' && e.subtype === 'html') {
      if (e.params === 'utf-8') htmlUtf8 = Math.max(htmlUtf8 ?? 0, e.q);
      else if (e.params === 'other') htmlWithParams = Math.max(htmlWithParams ?? 0, e.q);
      else html = Math.max(html ?? 0, e.q);
    } else if (e.type === 'text' && e.subtype === '*') {
      text = Math.max(text ?? 0, e.q);
    } else if (e.type === '*') {
      any = Math.max(any ?? 0, e.q);
    }
  }
  if (!read) return 'unsaid';
  const named = htmlUtf8 ?? html ?? htmlWithParams ?? text;
  if (named !== undefined) return named > 0 ? 'named' : 'refused';
  return any !== undefined && any > 0 ? 'any' : 'refused';
}

/** Every Accept field line of `headers` (names lower-case) joined as one list, or undefined when there is none. */
export function acceptField(headers: ReadonlyArray<readonly [string, string]>): string | undefined {
  let accept: string | undefined;
  for (const [name, value] of headers) if (name === 'accept') accept = accept === undefined ? value : `${accept},${value}`;
  return accept;
}
