/**
 * A self-signed certificate for HTTPS on the local network, made with Node's crypto alone: an
 * ECDSA P-256 key and an X.509 v3 certificate (RFC 5280) DER-encoded here, with subjectAltName
 * entries for every name and address the server answers to (browsers ignore the CN). Valid for
 * 365 days (Apple platforms refuse more than 825). The SHA-256 fingerprint is what a user compares
 * on the phone before trusting it.
 */
import type { X509Certificate } from 'node:crypto';
import { nodeCrypto } from '../node-crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { isEncryptedPrivateKey, pemMismatch, readPrivateKey } from './private-key';
import { readSmallRegularFileSync } from './read-small-file';

export interface SelfSignedCertificate {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
  /** SHA-256 fingerprint, colon-separated hex (as browsers show it). */
  readonly fingerprint256: string;
  readonly validTo: string;
}

const VALID_DAYS = 365;

// ---- minimal DER writer (X.690) ----------------------------------------------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 + n, inner);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function integer(bytes: Buffer): Buffer {
  // Positive: a leading 0x00 when the high bit is set.
  const content = (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return tlv(0x02, content);
}

const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const octetString = (b: Buffer): Buffer => tlv(0x04, b);
const boolTrue = tlv(0x01, Buffer.from([0xff]));

function utcTime(d: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, '0');
  const s =
    p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) +
    p(d.getUTCHours()) + p(d.getUTCMinutes()) + p(d.getUTCSeconds()) + 'Z';
  return tlv(0x17, Buffer.from(s, 'latin1'));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail] = ip.split('::') as [string, string | undefined];
  const h = head.length > 0 ? head.split(':') : [];
  const t = tail !== undefined && tail.length > 0 ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const OID_EC_PUBLIC_KEY_SIG = '1.2.840.10045.4.3.2'; // ecdsa-with-SHA256
const OID_CN = '2.5.4.3';
const OID_ORG = '2.5.4.10';

/**
 * Makes a key and a certificate for `names` (DNS names and IP addresses; the first is the CN).
 * Throws only on programming errors (the result is verified with X509Certificate).
 */
export function createSelfSignedCertificate(names: readonly string[], now = new Date()): SelfSignedCertificate {
  const { publicKey, privateKey } = nodeCrypto().generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const sigAlg = seq(oid(OID_EC_PUBLIC_KEY_SIG));
  const unique = [...new Set(names.map((n) => n.replace(/^\[|\]$/g, '')))];
  const cn = unique[0] ?? 'localhost';
  const name = seq(set(seq(oid(OID_ORG), utf8String('Porthole (self-signed)'))), set(seq(oid(OID_CN), utf8String(cn))));
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + VALID_DAYS * 24 * 60 * 60 * 1000);
  const altNames = unique.map((n) =>
    isIP(n) !== 0 ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'latin1')),
  );
  const extensions = seq(
    seq(oid('2.5.29.19'), boolTrue, octetString(seq())), // basicConstraints: CA false (critical)
    seq(oid('2.5.29.15'), boolTrue, octetString(tlv(0x03, Buffer.from([0x07, 0x80])))), // keyUsage: digitalSignature
    seq(oid('2.5.29.37'), octetString(seq(oid('1.3.6.1.5.5.7.3.1')))), // extKeyUsage: serverAuth
    seq(oid('2.5.29.17'), octetString(seq(...altNames))), // subjectAltName
  );
  const serial = nodeCrypto().randomBytes(16);
  // Positive and minimal (X.690 §8.3.2): a first byte of 0x00 before a byte below 0x80 is
  // "illegal padding" to OpenSSL, which refused about one certificate in 512.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    sigAlg,
    name,
    seq(utcTime(notBefore), utcTime(notAfter)),
    name,
    spki,
    tlv(0xa3, extensions),
  );
  const signature = nodeCrypto().sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = seq(tbs, sigAlg, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const x509 = new (nodeCrypto().X509Certificate)(cert);
  if (!x509.verify(publicKey) || !x509.checkPrivateKey(nodeCrypto().createPrivateKey(key))) {
    throw new Error('self-signed certificate failed its own verification');
  }
  return { cert, key, fingerprint256: x509.fingerprint256, validTo: x509.validTo };
}

/**
 * Checks that a PEM certificate and private key belong together and the certificate is in date;
 * returns the key to serve with: `key` itself, or, when it is encrypted, the key decrypted with
 * `passphrase` (PEM PKCS#8, kept in memory only). Throws with the path and the reason: a
 * PrivateKeyError (code ERR_KEY_ENCRYPTED: no passphrase given; ERR_KEY_PASSPHRASE: a wrong one;
 * ERR_KEY_NOT_PEM) for the key, a plain Error for the certificate or a mismatch.
 */
export function checkCertificatePair(cert: string, key: string, certPath: string, keyPath: string, passphrase?: string): string {
  let x509: X509Certificate;
  try {
    x509 = new (nodeCrypto().X509Certificate)(cert);
  } catch (err) {
    throw new Error(`${certPath} is not a PEM certificate: ${pemMismatch(cert, 'certificate')} (${(err as Error).message})`);
  }
  const privateKey = readPrivateKey(key, keyPath, passphrase);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new Error(`${keyPath} is not the private key of the certificate ${certPath}`);
  }
  if (Date.parse(x509.validTo) < Date.now()) {
    throw new Error(`the certificate ${certPath} expired on ${x509.validTo}`);
  }
  // Browsers refuse a certificate before its notBefore as after its notAfter (helper-148: one
  // valid from tomorrow started without a word, and every browser refused it).
  if (Date.parse(x509.validFrom) > Date.now()) {
    throw new Error(`the certificate ${certPath} is not valid until ${x509.validFrom}: browsers refuse it before then (check this computer's clock, or make the certificate again)`);
  }
  // An EC key on a curve TLS clients do not offer (secp256k1, Brainpool): every handshake failed
  // with nothing said (helper-148). RFC 8446 §4.2.7 and browsers: P-256, P-384 (and P-521).
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (privateKey.asymmetricKeyType === 'ec' && curve !== undefined && !TLS_CURVES.has(curve)) {
    throw new Error(`${keyPath} is an EC key on the curve ${curve}, which browsers do not accept for TLS: make the key on P-256 (openssl ecparam -name prime256v1) or use RSA`);
  }
  return isEncryptedPrivateKey(key) ? privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() : key;
}

/** The named curves (OpenSSL names) TLS clients accept for an ECDSA certificate's key (RFC 8446 §4.2.7). */
const TLS_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

interface StoredMeta {
  readonly names: readonly string[];
  readonly validTo: string;
}

/** Mode of the folder that holds the private key: the owner's only. */
export const KEY_DIR_MODE = 0o700;
/** Mode of the private key file: read and write by its owner only. */
export const KEY_FILE_MODE = 0o600;

/**
 * A folder where a kept file of the self-signed certificate belongs, with something in it: not
 * Porthole's to remove, so the certificate cannot be kept until it is gone. `code` EISDIR;
 * `message` names the folder and what to do.
 */
export class KeptFileError extends Error {
  readonly code = 'EISDIR';
  constructor(
    readonly path: string,
    readonly keptName: string,
  ) {
    super(`${path} is a folder with files in it, where the kept ${keptName} belongs; remove that folder (or move it away) and start again`);
    this.name = 'KeptFileError';
  }
}

/**
 * Writes each file (path, text, mode) as a new file, then renames each over the old one: a
 * result never inherits an old file's mode or inode (writeFileSync's `mode` applies only to a
 * file it creates), and a reader never sees half a key. A kept file that is an empty folder (a
 * rename cannot replace one: EISDIR) is removed first; one with anything in it stops everything
 * with a KeptFileError before a byte is written, so a new key.pem is never left without its
 * cert.pem. Every file is written before the first rename, so a full disk leaves the old set.
 */
function replaceFiles(files: ReadonlyArray<readonly [path: string, text: string, mode: number]>): void {
  const folders = files.map(([path]) => path).filter((path) => lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true);
  for (const path of folders) if (readdirSync(path).length > 0) throw new KeptFileError(path, basename(path));
  for (const path of folders) rmdirSync(path);
  const temps: string[] = [];
  try {
    for (const [path, text, mode] of files) {
      const temp = `${path}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`;
      temps.push(temp);
      writeFileSync(temp, text, { mode, flag: 'wx' });
      chmodSync(temp, mode);
    }
    files.forEach(([path], i) => renameSync(temps[i] ?? '', path));
  } catch (err) {
    for (const temp of temps) rmSync(temp, { force: true });
    throw err;
  }
}

/** Parents makeFolder makes at most (a bound on its recursion; a cache folder needs two or three). */
const MAX_MADE_PARENTS = 64;

/**
 * Makes the folder `dir` (KEY_DIR_MODE), and its missing parents, one at a time: Node's recursive
 * mkdir loops for ever where mkdir answers ENOENT for a parent that exists (under /proc). An
 * existing `dir` is no error. Throws mkdir's error (ENOTDIR, EACCES, ENOENT, EROFS…).
 */
function makeFolder(dir: string, depth = 0): void {
  try {
    mkdirSync(dir, { mode: KEY_DIR_MODE });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth >= MAX_MADE_PARENTS) throw err;
    makeFolder(parent, depth + 1);
    mkdirSync(dir, { mode: KEY_DIR_MODE });
  }
}

/** Makes `dir` (and missing parents) and sets its mode to KEY_DIR_MODE even when it existed. */
function ensureKeyDir(dir: string): void {
  makeFolder(dir);
  chmodSync(dir, KEY_DIR_MODE);
}

/**
 * The certificate kept in `dir` (cert.pem, key.pem, meta.json), made anew when it is missing,
 * expires within 30 days, or does not cover every name in `names` — so a phone that trusted it
 * once keeps trusting it while the machine's addresses stay the same. On every write the folder
 * is KEY_DIR_MODE (0700) and key.pem KEY_FILE_MODE (0600), whatever they were before; a kept key
 * whose file or folder was widened is tightened back when it is read. A kept file that is no
 * regular file of at most MAX_SMALL_FILE_BYTES (a named pipe, a link to /dev/zero) counts as
 * missing: it is never opened for a wait or read without end, and is replaced (an empty folder
 * too); the three are written together (replaceFiles). Throws a KeptFileError for a kept file
 * that is a folder with something in it, else the file system's error (its `code`: ENOTDIR,
 * EACCES, EROFS, ENOSPC…) when `dir` cannot be made or written.
 */
export function loadOrCreateCertificate(dir: string, names: readonly string[]): SelfSignedCertificate & { readonly created: boolean } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const metaPath = join(dir, 'meta.json');
  try {
    // Regular files of at most 1 MiB only: a named pipe or a link to a device put there (the
    // folder may be $XDG_CACHE_HOME's) is no kept certificate, and is replaced below.
    const meta = JSON.parse(readSmallRegularFileSync(metaPath).toString('utf8')) as StoredMeta;
    const cert = readSmallRegularFileSync(certPath).toString('utf8');
    const key = readSmallRegularFileSync(keyPath).toString('utf8');
    const x509 = new (nodeCrypto().X509Certificate)(cert);
    const fresh = Date.parse(x509.validTo) - Date.now() > 30 * 24 * 60 * 60 * 1000;
    const covers = names.every((n) => meta.names.includes(n));
    if (fresh && covers && x509.checkPrivateKey(nodeCrypto().createPrivateKey(key))) {
      ensureKeyDir(dir);
      chmodSync(keyPath, KEY_FILE_MODE);
      return { cert, key, fingerprint256: x509.fingerprint256, validTo: x509.validTo, created: false };
    }
  } catch {
    // missing or unreadable: make a new one
  }
  const made = createSelfSignedCertificate(names);
  ensureKeyDir(dir);
  replaceFiles([
    [keyPath, made.key, KEY_FILE_MODE],
    [certPath, made.cert, 0o644],
    [metaPath, JSON.stringify({ names, validTo: made.validTo } satisfies StoredMeta), 0o644],
  ]);
  return { ...made, created: true };
}
