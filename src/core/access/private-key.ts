/**
 * Reading a PEM private key that may be encrypted (passphrase-protected): PKCS#8
 * `-----BEGIN ENCRYPTED PRIVATE KEY-----` (RFC 5958 §3) or a traditional OpenSSL key with a
 * `Proc-Type: 4,ENCRYPTED` header (RFC 1421 §4.6.1.1). An encrypted key is named as such, never
 * called "not a PEM private key", so the user knows to give its passphrase.
 */
import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from '../node-crypto';

/** Why a private key could not be read; `code` says which, for callers that ask for a passphrase. */
export type PrivateKeyErrorCode =
  /** Not a PEM (or DER) private key Node can read. */
  | 'ERR_KEY_NOT_PEM'
  /** Encrypted, and no passphrase was given. */
  | 'ERR_KEY_ENCRYPTED'
  /** Encrypted, and the passphrase given does not decrypt it. */
  | 'ERR_KEY_PASSPHRASE';

export class PrivateKeyError extends Error {
  constructor(
    readonly code: PrivateKeyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PrivateKeyError';
  }
}

/**
 * What a PEM file that is not what it was given as holds, said from its `-----BEGIN …-----`
 * labels (RFC 7468), with what to do: `it holds a private key, not a certificate: the certificate
 * and the key may be swapped`. OpenSSL's own text (`error:0480006C:PEM routines::no start line`)
 * said neither, and swapped files (mkcert writes NAME.pem and NAME-key.pem) are the usual cause.
 * `want`: what the file was given as. Returns one clause, to follow "PATH is not a PEM …: ".
 */
export function pemMismatch(pem: string, want: 'certificate' | 'private key'): string {
  const labels = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1] ?? '');
  const holdsKey = labels.some((l) => l.endsWith('PRIVATE KEY'));
  const holdsCert = labels.some((l) => l === 'CERTIFICATE' || l === 'TRUSTED CERTIFICATE' || l === 'X509 CERTIFICATE');
  const example = want === 'certificate' ? "mkcert's NAME.pem, which begins -----BEGIN CERTIFICATE-----" : "mkcert's NAME-key.pem, which begins -----BEGIN PRIVATE KEY-----";
  if (want === 'certificate' && holdsKey && !holdsCert) return `it holds a private key, not a certificate (the certificate and the key may be swapped); give the certificate (${example})`;
  if (want === 'private key' && holdsCert && !holdsKey) return `it holds a certificate, not a private key (the certificate and the key may be swapped); give the private key (${example})`;
  if (labels.length === 0) return `it has no -----BEGIN …----- line, so it is no PEM file; give the ${want} (${example})`;
  return `it holds ${labels.map((l) => `"${l}"`).join(', ')}, which Porthole cannot read as a ${want}; give the ${want} (${example})`;
}

/** True when `pem` holds a passphrase-protected private key (PKCS#8 or traditional OpenSSL). */
export function isEncryptedPrivateKey(pem: string): boolean {
  return /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /^Proc-Type:\s*4,\s*ENCRYPTED\s*$/m.test(pem);
}

/**
 * The private key in `pem` (read from `keyPath`, named in messages), decrypted with `passphrase`
 * when it is encrypted (a passphrase given for a plain key is ignored). Throws a PrivateKeyError:
 * ERR_KEY_ENCRYPTED when it is encrypted and `passphrase` is undefined, ERR_KEY_PASSPHRASE when
 * the passphrase does not decrypt it, ERR_KEY_NOT_PEM otherwise.
 */
export function readPrivateKey(pem: string, keyPath: string, passphrase?: string): KeyObject {
  const encrypted = isEncryptedPrivateKey(pem);
  if (encrypted && passphrase === undefined) {
    throw new PrivateKeyError('ERR_KEY_ENCRYPTED', `${keyPath} is an encrypted private key and needs its passphrase`);
  }
  try {
    return encrypted ? nodeCrypto().createPrivateKey({ key: pem, passphrase }) : nodeCrypto().createPrivateKey(pem);
  } catch (err) {
    if (encrypted) {
      throw new PrivateKeyError('ERR_KEY_PASSPHRASE', `the passphrase does not decrypt the encrypted private key ${keyPath}`);
    }
    throw new PrivateKeyError('ERR_KEY_NOT_PEM', `${keyPath} is not a PEM private key: ${pemMismatch(pem, 'private key')} (${(err as Error).message})`);
  }
}
