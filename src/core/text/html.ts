/**
 * Escaping for the little HTML the server generates (listings, error pages). Every name or path
 * that reaches generated HTML goes through escapeHtml; hrefs are percent-encoded first.
 */

import { escapeForDisplay } from './display-text';

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * `text` as HTML text or an attribute value: `& < > " '` as references, and the characters
 * escapeForDisplay shows escaped (controls, bidi overrides and isolates, line separators) as their
 * `\uhhhh` escapes, so a path a client sent (`/%E2%80%AEevil` on a 404 page, a back-end's words on
 * a 502 page) reads as what was sent, never reordered (helper-48).
 */
export function escapeHtml(text: string): string {
  return escapeForDisplay(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * A complete, minimal, styled HTML document. `bodyHtml` must already be escaped. `refreshSeconds`:
 * the page loads its URL again after that many seconds (`<meta http-equiv="refresh">`, WHATWG
 * HTML "shared declarative refresh steps"; a GET, whatever method brought the page).
 */
export function htmlPage(title: string, bodyHtml: string, refreshSeconds?: number): string {
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    (refreshSeconds === undefined ? '' : `<meta http-equiv="refresh" content="${refreshSeconds}">\n`) +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(title)}</title>\n` +
    '<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222;background:#fff}' +
    'a{color:#0b62c4}table{border-collapse:collapse;width:100%}td,th{padding:.2rem .6rem;text-align:left}' +
    'td.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#f3f3f3}' +
    'code{background:#f3f3f3;padding:0 .2rem}footer{margin-top:2rem;color:#777;font-size:13px}' +
    '@media (prefers-color-scheme:dark){body{color:#ddd;background:#1e1e1e}a{color:#4aa3ff}tr:nth-child(even),code{background:#2a2a2a}}</style>\n' +
    `</head>\n<body>\n${bodyHtml}\n<footer>Porthole</footer>\n</body>\n</html>\n`
  );
}
