/**
 * Content codings (RFC 9110 §8.4.1): which ones a client accepts (Accept-Encoding, §12.5.3), which
 * one a response uses, which types are worth compressing, and which file names are themselves an
 * encoded file (`game.wasm.br`).
 *
 * Porthole knows two codings, `br` (RFC 7932) and `gzip` (RFC 1952); `deflate` and `zstd` are never
 * produced (deflate's zlib-vs-raw ambiguity, zstd is not in Node 20's zlib).
 */
import { extname } from 'node:path';
import type * as ZlibModule from 'node:zlib';
import { isTextType } from './content-type';

/**
 * node:zlib, loaded with the first compression or decode: loading it cost every start-up 2–2.5 ms
 * (`node -e` after node:net on this machine), and a server may never compress.
 */
export function zlib(): typeof ZlibModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:zlib') as typeof ZlibModule;
}

export type ContentCoding = 'br' | 'gzip';

/** What `Accept-Encoding` allows: the quality (0…1) of each coding Porthole can send. */
export interface AcceptedCodings {
  readonly br: number;
  readonly gzip: number;
  /** The quality of the unencoded bytes; 0 only when the client excluded them. */
  readonly identity: number;
  /** True when identity was named (or matched by `*`) rather than acceptable by default. */
  readonly identityExplicit: boolean;
}

/** A client that sent no Accept-Encoding, or an empty one: identity only. */
export const IDENTITY_ONLY: AcceptedCodings = { br: 0, gzip: 0, identity: 1, identityExplicit: false };

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Parses an Accept-Encoding field value (RFC 9110 §12.5.3): `codings *( OWS ";" OWS "q=" qvalue )`,
 * names case-insensitive, `x-gzip` taken as `gzip` (§8.4.1.3), `*` for every coding not named,
 * `identity;q=0` (or `*;q=0` without identity) excluding the unencoded bytes. An element with a
 * malformed weight is ignored. Undefined or empty: identity only. No request header is sent as
 * a wish Porthole must grant: the quality 0 of a coding means it is never used.
 */
export function parseAcceptEncoding(value: string | undefined): AcceptedCodings {
  if (value === undefined) return IDENTITY_ONLY;
  // A browser sends the same value with every request: the last one parsed is kept (readonly).
  if (value === lastAcceptEncoding) return lastAccepted;
  const accepted = parseAcceptEncodingValue(value);
  lastAcceptEncoding = value;
  lastAccepted = accepted;
  return accepted;
}

let lastAcceptEncoding: string | undefined;
let lastAccepted: AcceptedCodings = IDENTITY_ONLY;

function parseAcceptEncodingValue(value: string): AcceptedCodings {
  const named = new Map<string, number>();
  let star: number | undefined;
  for (const element of value.split(',')) {
    const params = element.split(';');
    const name = (params[0] ?? '').trim().toLowerCase();
    if (name.length === 0) continue;
    let q = 1;
    let valid = true;
    for (const param of params.slice(1)) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      if (param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const text = param.slice(eq + 1).trim();
      if (!QVALUE.test(text)) valid = false;
      else q = Number(text);
    }
    if (!valid) continue;
    const coding = name === 'x-gzip' ? 'gzip' : name;
    if (coding === '*') star = Math.max(star ?? 0, q);
    else named.set(coding, Math.max(named.get(coding) ?? 0, q));
  }
  const quality = (coding: string): number => named.get(coding) ?? star ?? 0;
  const identityNamed = named.has('identity');
  const identity = identityNamed ? (named.get('identity') ?? 1) : (star ?? 1);
  return { br: quality('br'), gzip: quality('gzip'), identity, identityExplicit: identityNamed || star !== undefined };
}

/**
 * The coding to answer with among `available` (in the server's order of preference, best first),
 * or 'identity': the highest quality wins; on a tie the server's order, then identity. Identity
 * acceptable only by default (not named) loses to any acceptable coding. When the client excludes
 * identity and accepts nothing available, identity is still the answer (RFC 9110 §12.5.3 lets the
 * server send it rather than a 415; a preview server should show the file).
 */
export function chooseCoding(accepted: AcceptedCodings, available: readonly ContentCoding[]): ContentCoding | 'identity' {
  let best: ContentCoding | 'identity' = 'identity';
  let bestQ = accepted.identityExplicit ? accepted.identity : 0;
  for (const coding of available) {
    const q = accepted[coding];
    if (q > 0 && q > bestQ) {
      best = coding;
      bestQ = q;
    } else if (q > 0 && q === bestQ && best === 'identity') {
      best = coding;
    }
  }
  return best;
}

/** Bodies below this are sent as they are: a coding's framing would eat most of the gain. */
export const COMPRESS_MIN_BYTES = 1024;

/**
 * Types compressed on the fly: text (text/*, JavaScript, JSON and every `+json` type, XML and every
 * type mime-db marks as text, SVG), and WebAssembly (compresses to about a third; instantiateStreaming decodes it).
 * Images, audio, video, fonts in woff/woff2 and archives are already compressed.
 */
export function isCompressibleType(type: string): boolean {
  const semi = type.indexOf(';');
  const essence = (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase();
  // `+json` is JSON (RFC 6839 §3.1) whether or not mime-db names a charset for it: GeoJSON,
  // JSON-LD, glTF, notebooks compress as application/json does.
  return isTextType(essence) || essence.endsWith('+json') || essence === 'application/wasm' || essence === 'image/svg+xml';
}

/** The extension of each coding's files. */
export const CODING_SUFFIX: Readonly<Record<ContentCoding, string>> = { br: '.br', gzip: '.gz' };

/**
 * Inner extensions that make `name.<ext>.br` / `.gz` a web asset stored encoded (Unity WebGL
 * builds, bundlers' precompressed output) rather than an archive to download: the browser must
 * decode it, so it is served with the inner type and `Content-Encoding`. `archive.tar.gz`,
 * `dump.sql.gz`, `photo.png.gz` stay downloads (application/gzip).
 */
const WEB_INNER_EXTENSIONS = new Set([
  '.js', '.mjs', '.cjs', '.wasm', '.json', '.css', '.html', '.htm', '.svg', '.xml', '.txt', '.map',
  '.data', '.mem', '.unityweb',
]);

/** The extension of gzip-compressed SVG (one name for `.svg.gz`). */
const SVGZ = '.svgz';

/**
 * For a file named like `game.wasm.br` or `data.json.gz` (an encoded web asset, see
 * WEB_INNER_EXTENSIONS), or `pic.svgz` (gzip-compressed SVG, whose inner name is `pic.svg`): the
 * coding and the inner name (`game.wasm`), whose type the file is served with. Undefined for any
 * other name (`archive.tar.gz`, `notes.gz`, `x.br`).
 */
export function encodedAssetOf(name: string): { readonly coding: ContentCoding; readonly inner: string } | undefined {
  const lower = name.toLowerCase();
  // `.svgz` is gzip-compressed SVG by its own name (SVG 1.1 §1.2): `pic.svgz` is `pic.svg` stored
  // gzip-encoded. Sent as image/svg+xml without Content-Encoding, a browser shows no image.
  if (lower.endsWith(SVGZ) && lower.length > SVGZ.length && !/[/\\]$/.test(name.slice(0, -SVGZ.length))) {
    return { coding: 'gzip', inner: name.slice(0, -1) };
  }
  const coding: ContentCoding | undefined = lower.endsWith('.br') ? 'br' : lower.endsWith('.gz') ? 'gzip' : undefined;
  if (coding === undefined) return undefined;
  const inner = name.slice(0, -CODING_SUFFIX[coding].length);
  const ext = extname(inner).toLowerCase();
  if (!WEB_INNER_EXTENSIONS.has(ext)) return undefined;
  const base = inner.slice(0, inner.length - ext.length);
  // `.br`/`.gz` alone after a dotfile-like stem (`.js.br`) names no asset.
  if (base.length === 0 || base.endsWith('/') || base.endsWith('\\')) return undefined;
  return { coding, inner };
}
