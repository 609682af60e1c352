/**
 * MIME type sniffing for files whose name gives no type, after the WHATWG MIME Sniffing Standard,
 * §7.1 "Identifying a resource with an unknown MIME type", with the sniff-scriptable flag set (the
 * files are the user's own site, so an HTML page named `about` must be served as a page).
 *
 * Written here rather than taken from npm: no maintained package implements this algorithm (the
 * WHATWG-named ones parse MIME types only; `detect-content-type`, a 2015 port of Go's sniffer,
 * has no fonts, no wasm and a broken whitespace test; `file-type` and kin detect formats by magic
 * numbers but know neither the HTML patterns nor the text/binary rule).
 *
 * Order, as the standard gives it: the scriptable table (HTML tags, `<?xml`, `%PDF-`), then
 * PostScript and the BOMs (text/plain), images (§6.1), audio and video (§6.2, including the MP4,
 * WebM and MP3-without-ID3 signatures), archives (§6.4); then text/plain when the header holds no
 * binary data byte, else application/octet-stream. Two additions, both after the archives and
 * before the text/binary rule (where every file they match would otherwise be octet-stream):
 * the font patterns of §6.3 (the standard leaves them out of this algorithm because browsers
 * do not sniff fonts in a browsing context; a server labelling a file does no harm naming them)
 * and the WebAssembly magic `\0asm` (WebAssembly Core §5.5.16), which
 * `WebAssembly.instantiateStreaming` needs as `application/wasm`.
 *
 * Input: the resource header, the first RESOURCE_HEADER_BYTES bytes (fewer for a shorter file).
 */

/** The standard's resource header: at most 1445 bytes are looked at (§5.2). */
export const RESOURCE_HEADER_BYTES = 1445;

/** §3: 0x09, 0x0A, 0x0C, 0x0D, 0x20. */
function isWhitespaceByte(b: number): boolean {
  return b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || b === 0x20;
}

/** §3: 0x00–0x08, 0x0B, 0x0E–0x1A, 0x1C–0x1F. */
function isBinaryDataByte(b: number): boolean {
  return b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);
}

interface Row {
  readonly pattern: Uint8Array;
  readonly mask: Uint8Array;
  readonly skipWhitespace: boolean;
  /** The pattern must be followed by a tag-terminating byte (0x20 or 0x3E). */
  readonly tagTerminated: boolean;
  readonly type: string;
}

function bytes(spec: string): Uint8Array {
  return Uint8Array.from(spec.split(' ').map((h) => parseInt(h, 16)));
}

function row(pattern: string, mask: string, type: string, skipWhitespace = false, tagTerminated = false): Row {
  const p = bytes(pattern);
  const m = bytes(mask);
  if (p.length !== m.length) throw new Error(`mime-sniff: pattern and mask differ in length for ${type}`);
  return { pattern: p, mask: m, skipWhitespace, tagTerminated, type };
}

/** An HTML row: a case-insensitive tag name (mask DF on letters), whitespace skipped, then TT. */
function htmlRow(text: string): Row {
  const p = [...text].map((c) => c.charCodeAt(0).toString(16));
  const m = [...text].map((c) => (/[A-Z]/.test(c) ? 'df' : 'ff'));
  return row(p.join(' '), m.join(' '), 'text/html', true, true);
}

/** An exact row: every byte must match (mask FF). */
function exact(pattern: string, type: string): Row {
  return row(pattern, pattern.split(' ').map(() => 'ff').join(' '), type);
}

function ascii(text: string): string {
  return [...text].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
}

/** §7.1 step 1: rows that need the sniff-scriptable flag. */
const SCRIPTABLE: readonly Row[] = [
  ...['<!DOCTYPE HTML', '<HTML', '<HEAD', '<SCRIPT', '<IFRAME', '<H1', '<DIV', '<FONT', '<TABLE', '<A', '<STYLE', '<TITLE', '<B', '<BODY', '<BR', '<P', '<!--'].map(htmlRow),
  row(ascii('<?xml'), 'ff ff ff ff ff', 'text/xml', true),
  exact(ascii('%PDF-'), 'application/pdf'),
];

/** §7.1 step 2. */
const ALWAYS: readonly Row[] = [
  exact(ascii('%!PS-Adobe-'), 'application/postscript'),
  row('fe ff 00 00', 'ff ff 00 00', 'text/plain'),
  row('ff fe 00 00', 'ff ff 00 00', 'text/plain'),
  row('ef bb bf 00', 'ff ff ff 00', 'text/plain'),
];

/** §6.1 image type pattern matching. */
const IMAGES: readonly Row[] = [
  exact('00 00 01 00', 'image/x-icon'),
  exact('00 00 02 00', 'image/x-icon'),
  exact(ascii('BM'), 'image/bmp'),
  exact(ascii('GIF87a'), 'image/gif'),
  exact(ascii('GIF89a'), 'image/gif'),
  row(`${ascii('RIFF')} 00 00 00 00 ${ascii('WEBPVP')}`, 'ff ff ff ff 00 00 00 00 ff ff ff ff ff ff', 'image/webp'),
  exact('89 50 4e 47 0d 0a 1a 0a', 'image/png'),
  exact('ff d8 ff', 'image/jpeg'),
];

/** §6.2 audio or video type pattern matching: the table part. */
const AUDIO_VIDEO: readonly Row[] = [
  row(`${ascii('FORM')} 00 00 00 00 ${ascii('AIFF')}`, 'ff ff ff ff 00 00 00 00 ff ff ff ff', 'audio/aiff'),
  exact(ascii('ID3'), 'audio/mpeg'),
  exact(`${ascii('OggS')} 00`, 'application/ogg'),
  exact(`${ascii('MThd')} 00 00 00 06`, 'audio/midi'),
  row(`${ascii('RIFF')} 00 00 00 00 ${ascii('AVI ')}`, 'ff ff ff ff 00 00 00 00 ff ff ff ff', 'video/avi'),
  row(`${ascii('RIFF')} 00 00 00 00 ${ascii('WAVE')}`, 'ff ff ff ff 00 00 00 00 ff ff ff ff', 'audio/wave'),
];

/** §6.3 font type pattern matching (an addition to §7.1, see the file comment). */
const FONTS: readonly Row[] = [
  row(`${'00 '.repeat(34)}4c 50`, `${'00 '.repeat(34)}ff ff`, 'application/vnd.ms-fontobject'),
  exact('00 01 00 00', 'font/ttf'),
  exact(ascii('OTTO'), 'font/otf'),
  exact(ascii('ttcf'), 'font/collection'),
  exact(ascii('wOFF'), 'font/woff'),
  exact(ascii('wOF2'), 'font/woff2'),
];

/** §6.4 archive type pattern matching. */
const ARCHIVES: readonly Row[] = [
  exact('1f 8b 08', 'application/x-gzip'),
  exact('50 4b 03 04', 'application/zip'),
  exact(`${ascii('Rar ')} 1a 07 00`, 'application/x-rar-compressed'),
];

/** WebAssembly binary magic `\0asm` (an addition to §7.1, see the file comment). */
const WASM: readonly Row[] = [exact('00 61 73 6d', 'application/wasm')];

/** §4.? pattern matching algorithm, plus the tag-terminating byte of the HTML rows. */
function matches(input: Uint8Array, r: Row): boolean {
  if (input.length < r.pattern.length) return false;
  let s = 0;
  if (r.skipWhitespace) while (s < input.length && isWhitespaceByte(input[s] as number)) s++;
  for (let p = 0; p < r.pattern.length; p++, s++) {
    if (s >= input.length) return false;
    if (((input[s] as number) & (r.mask[p] as number)) !== r.pattern[p]) return false;
  }
  if (r.tagTerminated) return s < input.length && (input[s] === 0x20 || input[s] === 0x3e);
  return true;
}

function firstMatch(input: Uint8Array, rows: readonly Row[]): string | undefined {
  for (const r of rows) if (matches(input, r)) return r.type;
  return undefined;
}

/** §6.2.1 signature for MP4. */
function isMp4(seq: Uint8Array): boolean {
  const length = seq.length;
  if (length < 12) return false;
  const boxSize = (((seq[0] as number) << 24) >>> 0) + ((seq[1] as number) << 16) + ((seq[2] as number) << 8) + (seq[3] as number);
  if (length < boxSize || boxSize % 4 !== 0) return false;
  if (seq[4] !== 0x66 || seq[5] !== 0x74 || seq[6] !== 0x79 || seq[7] !== 0x70) return false;
  const isMp4Brand = (i: number): boolean => seq[i] === 0x6d && seq[i + 1] === 0x70 && seq[i + 2] === 0x34;
  if (isMp4Brand(8)) return true;
  for (let read = 16; read < boxSize; read += 4) if (isMp4Brand(read)) return true;
  return false;
}

/** §6.2.2 parse a vint: only its size (1–8 bytes, from the first byte's leading zero bits). */
function vintSize(seq: Uint8Array, index: number): number {
  let mask = 0x80;
  let size = 1;
  while (size < 8 && index < seq.length && ((seq[index] as number) & mask) === 0) {
    mask >>= 1;
    size++;
  }
  return size;
}

/** §6.2.2 matching a padded sequence: `pattern` at `offset`, after any number of 0x00 bytes. */
function matchesPadded(seq: Uint8Array, pattern: readonly number[], offset: number): boolean {
  let s = offset;
  while (s < seq.length && seq[s] === 0x00) s++;
  if (s + pattern.length > seq.length) return false;
  return pattern.every((b, i) => seq[s + i] === b);
}

/**
 * §6.2.2 signature for WebM: the EBML magic, then a DocType element (0x42 0x82) within the first
 * 38 bytes whose value is "webm". (The standard's step "if iter is less than length − 4, abort"
 * has its comparison inverted; the evident intent, not enough bytes left for "webm", is used.)
 */
function isWebm(seq: Uint8Array): boolean {
  const length = seq.length;
  if (length < 4) return false;
  if (seq[0] !== 0x1a || seq[1] !== 0x45 || seq[2] !== 0xdf || seq[3] !== 0xa3) return false;
  let iter = 4;
  while (iter < length && iter < 38) {
    if (seq[iter] === 0x42 && seq[iter + 1] === 0x82) {
      iter += 2;
      if (iter >= length) break;
      iter += vintSize(seq, iter);
      if (iter >= length - 4) break;
      if (matchesPadded(seq, [0x77, 0x65, 0x62, 0x6d], iter)) return true;
    }
    iter++;
  }
  return false;
}

const MP3_RATES = [0, 32000, 40000, 48000, 56000, 64000, 80000, 96000, 112000, 128000, 160000, 192000, 224000, 256000, 320000];
const MP25_RATES = [0, 8000, 16000, 24000, 32000, 40000, 48000, 56000, 64000, 80000, 96000, 112000, 128000, 144000, 160000];
const SAMPLE_RATES = [44100, 48000, 32000];

/** §6.2.3 match an mp3 header at `s`: frame sync, a layer, a usable bit rate and sample rate. */
function isMp3Header(seq: Uint8Array, s: number): boolean {
  if (seq.length - s < 4) return false;
  if (seq[s] !== 0xff || ((seq[s + 1] as number) & 0xe0) !== 0xe0) return false;
  const layer = ((seq[s + 1] as number) & 0x06) >> 1;
  if (layer === 0) return false;
  const bitRate = ((seq[s + 2] as number) & 0xf0) >> 4;
  if (bitRate === 15) return false;
  const sampleRate = ((seq[s + 2] as number) & 0x0c) >> 2;
  if (sampleRate === 3) return false;
  return true;
}

/** §6.2.3 parse an mp3 frame and compute its size in bytes. */
function mp3FrameSize(seq: Uint8Array, s: number): number {
  const version = ((seq[s + 1] as number) & 0x18) >> 3;
  const bitRateIndex = ((seq[s + 2] as number) & 0xf0) >> 4;
  const bitRate = ((version & 0x01) !== 0 ? MP25_RATES : MP3_RATES)[bitRateIndex] ?? 0;
  const sampleRate = SAMPLE_RATES[((seq[s + 2] as number) & 0x0c) >> 2] ?? 44100;
  const pad = ((seq[s + 2] as number) & 0x02) >> 1;
  const scale = version === 1 ? 72 : 144;
  return Math.floor((bitRate * scale) / sampleRate) + (pad !== 0 ? 1 : 0);
}

/**
 * §6.2.3 signature for MP3 without ID3: a frame header at 0, and another one where the first
 * frame ends. (The standard's bound "skipped-bytes greater than s − length" is read as its intent:
 * the next header must lie inside the bytes we have.)
 */
function isMp3WithoutId3(seq: Uint8Array): boolean {
  if (!isMp3Header(seq, 0)) return false;
  const skipped = mp3FrameSize(seq, 0);
  if (skipped < 4 || skipped > seq.length) return false;
  return isMp3Header(seq, skipped);
}

/**
 * The computed MIME type (an essence, no parameters) of a resource whose name gives no type,
 * from its resource header (§7.1; see the file comment for the two additions). Never throws;
 * `application/octet-stream` when nothing matches and the bytes are binary.
 */
export function sniffUnknownType(header: Uint8Array): string {
  const h = header.length > RESOURCE_HEADER_BYTES ? header.subarray(0, RESOURCE_HEADER_BYTES) : header;
  const known =
    firstMatch(h, SCRIPTABLE) ??
    firstMatch(h, ALWAYS) ??
    firstMatch(h, IMAGES) ??
    firstMatch(h, AUDIO_VIDEO) ??
    (isMp4(h) ? 'video/mp4' : undefined) ??
    (isWebm(h) ? 'video/webm' : undefined) ??
    (isMp3WithoutId3(h) ? 'audio/mpeg' : undefined) ??
    firstMatch(h, ARCHIVES) ??
    firstMatch(h, FONTS) ??
    firstMatch(h, WASM);
  if (known !== undefined) return known;
  for (const b of h) if (isBinaryDataByte(b)) return 'application/octet-stream';
  return 'text/plain';
}
