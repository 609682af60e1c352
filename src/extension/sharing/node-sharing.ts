/**
 * Sharing on the network, the pure part: which mode a configuration means, the URLs other devices
 * use (with their QR codes, drawn as SVG by uqr), the words of the confirmation and the warnings,
 * the firewall hint, and HTTPS (PEM files from the settings, or a self-signed certificate kept in
 * the extension's global storage). No `vscode` import: node tests drive all of it.
 * Invariant: a bad certificate or key never reaches the core; it fails the start with its path
 * and the reason (checkCertificatePair).
 */
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { renderSVG } from 'uqr';
import type { BoundAddress, LanAddress, ServerOptionsInput } from '../../core';
import {
  KeptFileError,
  PrivateKeyError,
  SmallFileError,
  certificateNames,
  checkCertificatePair,
  describeFsProblem,
  escapeForDisplay,
  isLoopbackBind,
  lanAddresses,
  liesInsideFolder,
  loadOrCreateCertificate,
  networkUrls,
  noReadPermission,
  notAFolderOnPath,
  readSmallFile,
  type PrivateKeyErrorCode,
} from '../../core';
import { resolveLogFile, resolveRoot, type FolderContext, type PortholeConfig } from '../config/node-config';
import type { CertificateView, SharedUrl, SharingServer } from '../requests/webview-protocol';
import { messageText } from '../output/node-format';

/** Local (loopback only) or shared (every device that can reach one of the machine's addresses). */
export type SharingMode = 'local' | 'shared';

export function sharingModeOf(host: string): SharingMode {
  return isLoopbackBind(host) ? 'local' : 'shared';
}

/** The address Share on Network writes into `porthole.host`. */
export const SHARE_HOST = '0.0.0.0';
/** The address Stop Sharing returns to. */
export const LOCAL_HOST = '127.0.0.1';

/** `http` or `https`, from the bound URL. */
export function schemeOf(address: BoundAddress): 'http' | 'https' {
  return address.url.startsWith('https:') ? 'https' : 'http';
}

/**
 * The URLs other devices use for a server bound to `host` (the core's networkUrls: one per usable
 * LAN address when bound to every interface, IPv4 only for 0.0.0.0, else the bound address
 * itself); none when local.
 */
export function sharedUrls(host: string, port: number, scheme: 'http' | 'https', lan: readonly LanAddress[] = lanAddresses()): Array<{ url: string; label: string }> {
  return sharingModeOf(host) === 'local' ? [] : networkUrls(host, port, scheme, lan);
}

/** The QR code of `text` as an SVG document (uqr; black on white with a quiet zone, scannable). */
export function qrSvg(text: string): string {
  return renderSVG(text, { ecc: 'M', border: 2, pixelSize: 4, whiteColor: '#ffffff', blackColor: '#000000' });
}

/** What usually stops a phone from connecting, and how to check. One plain paragraph. */
export function firewallHint(port: number): string {
  return (
    `Nothing connects? Usually a firewall blocks port ${port}: allow incoming TCP on it ` +
    `(Linux: sudo ufw allow ${port}/tcp; macOS: System Settings › Network › Firewall; Windows: allow ` +
    `VS Code on private networks). Check that the device is on the same network (not a guest Wi-Fi), ` +
    `then try the URL from another computer: "connection refused" or a timeout means the firewall, a 403 ` +
    `names its reason in the Porthole Output.`
  );
}

/**
 * The modal confirmation for Share on Network: what becomes visible to whom, in plain words. The
 * folder name and the client list are escaped (messageText): a folder name is outside text.
 */
export function shareConfirmation(rawFolderName: string, port: number, rawAllowedClients: readonly string[]): { message: string; detail: string } {
  const folderName = messageText(rawFolderName);
  const allowedClients = rawAllowedClients.map((c) => messageText(c));
  const who =
    allowedClients.length === 0
      ? `Every device on your network can read the files of "${folderName}" on port ${port} while it is shared.`
      : `Devices in ${allowedClients.join(', ')} can read the files of "${folderName}" on port ${port} while it is shared.`;
  return {
    message: `Share "${folderName}" on your network?`,
    detail:
      `${who} Dotfiles such as .env and .git stay hidden. ` +
      (allowedClients.length === 0 ? 'To restrict who may connect, list their addresses in porthole.allowedClients (e.g. 192.168.1.0/24). ' : '') +
      'Stop Sharing returns to this machine only.',
  };
}

/**
 * Warnings a configuration deserves (said at start and when settings change). With `folder`, the
 * log file's place is judged too: a request log inside a shared root is said (the server answers
 * it only to this computer, other devices get 404, but it names every client and URL).
 */
export function sharingWarnings(config: PortholeConfig, folder?: FolderContext): string[] {
  const warnings: string[] = [];
  if (sharingModeOf(config.host) === 'shared' && config.dotfiles) {
    warnings.push(
      'porthole.dotfiles is on while the folder is shared on the network: files starting with "." can be read by other devices (.git and .env stay hidden).',
    );
  }
  if (sharingModeOf(config.host) === 'shared' && folder !== undefined) {
    const logFile = resolveLogFile(config, folder);
    if (liesInsideFolder(resolveRoot(config, folder), logFile)) {
      warnings.push(
        `The request log ${logFile} is inside the shared folder. It names every device and URL; only this computer can read it over HTTP (other devices get 404). To keep it out of the folder, set porthole.log.file to a path elsewhere, or leave it empty.`,
      );
    }
  }
  return warnings;
}

/** The certificate the server uses, for the Output and the Requests view. */
export interface CertificateInfo extends CertificateView {
  /** Absolute paths for the PEM files from the settings; the storage folder for a self-signed one. */
  readonly location: string;
  /** A self-signed certificate was just made (its fingerprint changed). */
  readonly created: boolean;
}

/** Names a self-signed certificate covers (the core's, shared with the CLI). */
export { certificateNames } from '../../core';

/** Reads a file the settings name, as text; rejects with the reason (an Error with a `code`). */
export type ReadText = (file: string) => Promise<string>;

/**
 * The default ReadText: readSmallFile (a regular file, or a pipe written and closed within
 * PIPE_CLOSE_WAIT_MS, of at most MAX_SMALL_FILE_BYTES), so a setting naming a named pipe or
 * /dev/zero never freezes the extension host (readFileSync waited for a writer for ever, or read
 * without end).
 */
export const readSmallText: ReadText = async (file) => (await readSmallFile(file)).toString('utf8');

/**
 * Completes `options` with TLS as the settings say: the PEM files (`porthole.https.cert`/`.key`,
 * folder-relative allowed), else a self-signed certificate in `storageDir` when
 * `porthole.https.selfSigned`, else plain HTTP. Throws an Error (code ERR_TLS_CONFIG) naming the
 * path and the reason when a file is missing, unreadable, not PEM, or the key does not match; its
 * `keyError` is the PrivateKeyError code when the key is encrypted and `passphrase` is missing
 * (ERR_KEY_ENCRYPTED) or wrong (ERR_KEY_PASSPHRASE). An encrypted key goes to the core decrypted.
 * A file that is no file (a folder, a named pipe nobody writes, a device such as /dev/zero) or is
 * larger than MAX_SMALL_FILE_BYTES is named as such (readSmallText), within PIPE_CLOSE_WAIT_MS.
 */
export async function prepareTls(
  config: PortholeConfig,
  folder: FolderContext,
  storageDir: string,
  options: ServerOptionsInput,
  readText: ReadText = readSmallText,
  passphrase: string | undefined = undefined,
): Promise<{ options: ServerOptionsInput; certificate: CertificateInfo | undefined }> {
  const fail = (message: string, keyError?: PrivateKeyErrorCode): never => {
    throw Object.assign(new Error(message), { code: 'ERR_TLS_CONFIG', keyError });
  };
  if (config.httpsCert !== '' || config.httpsKey !== '') {
    if (config.httpsCert === '') fail('porthole.https.key is set but porthole.https.cert is empty: set both (PEM files, e.g. from mkcert)');
    if (config.httpsKey === '') fail('porthole.https.cert is set but porthole.https.key is empty: set both (PEM files, e.g. from mkcert)');
    const certPath = path.resolve(folder.folderPath, config.httpsCert);
    const keyPath = path.resolve(folder.folderPath, config.httpsKey);
    const read = async (file: string, setting: string, what: string, todo: string): Promise<string> => {
      try {
        return await readText(file);
      } catch (err) {
        if (err instanceof SmallFileError) return fail(`${setting} ${file} ${err.reason}: ${todo}`);
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'the file does not exist' : code === 'EACCES' || code === 'EPERM' ? noReadPermission(file, code) : (err as Error).message;
        return fail(`cannot read the HTTPS ${what} ${file}: ${why}`);
      }
    };
    const cert = await read(certPath, 'porthole.https.cert', 'certificate', "name a PEM certificate file (e.g. mkcert's NAME.pem)");
    const key = await read(keyPath, 'porthole.https.key', 'key', "name a PEM private key file (e.g. mkcert's NAME-key.pem)");
    let usableKey = key;
    try {
      usableKey = checkCertificatePair(cert, key, certPath, keyPath, passphrase);
    } catch (err) {
      fail(`HTTPS: ${(err as Error).message}`, err instanceof PrivateKeyError ? err.code : undefined);
    }
    const { fingerprint256, validTo } = certificateFacts(cert);
    return {
      options: { ...options, tls: { cert, key: usableKey, privateFiles: [keyPath] } },
      certificate: { kind: 'files', fingerprint256, validTo, location: certPath, created: false },
    };
  }
  if (config.httpsSelfSigned) {
    const dir = path.join(storageDir, 'tls');
    let made;
    try {
      made = loadOrCreateCertificate(dir, certificateNames(lanAddresses(), hostname(), config.host));
    } catch (err) {
      return fail(`cannot create the self-signed certificate in ${dir}: ${unusableFolder(err, dir)}`);
    }
    return {
      options: { ...options, tls: { cert: made.cert, key: made.key, privateFiles: [path.join(dir, 'key.pem')] } },
      certificate: { kind: 'self-signed', fingerprint256: made.fingerprint256, validTo: made.validTo, location: dir, created: made.created },
    };
  }
  return { options, certificate: undefined };
}

/**
 * Why the self-signed certificate's folder `dir` could not be used, in words: Node's own message
 * ("ENOTDIR: not a directory, lstat '…/tls/key.pem'") reached the user where `tls` was a file.
 */
function unusableFolder(err: unknown, dir: string): string {
  if (err instanceof KeptFileError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EEXIST') return `${notAFolderOnPath(dir) ?? 'a part of its path is a file, not a folder'} (${code}); remove or move it`;
  if (code === 'EACCES' || code === 'EPERM') return `no permission to write there (${code})`;
  return describeFsProblem(err);
}

/** Where passphrases are kept: VS Code's SecretStorage (`context.secrets`) has this shape. */
export interface PassphraseStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/**
 * Asks the user for the passphrase of the encrypted key at `keyPath` (`retry`: the last one was
 * wrong); undefined when they cancel. VS Code: an input box with `password: true`.
 */
export type AskPassphrase = (request: { readonly keyPath: string; readonly retry: boolean }) => PromiseLike<string | undefined>;

/** The secret's key for the passphrase of the private key at an absolute path. */
export function passphraseSecretKey(keyPath: string): string {
  return `porthole.https.keyPassphrase:${keyPath}`;
}

/** Wrong passphrases accepted in one start before it fails. */
export const MAX_PASSPHRASE_ASKS = 3;

/**
 * prepareTls for a `porthole.https.key` that may be encrypted: the passphrase kept in `secrets`
 * (per key path) is tried first; when there is none, or it no longer decrypts the key (it is then
 * forgotten), the user is asked (at most MAX_PASSPHRASE_ASKS times), and a passphrase that works
 * is kept, so each key is asked for once. Cancelling fails the start (ERR_TLS_CONFIG) saying so.
 */
export async function prepareTlsWithPassphrase(
  config: PortholeConfig,
  folder: FolderContext,
  storageDir: string,
  options: ServerOptionsInput,
  secrets: PassphraseStore,
  ask: AskPassphrase,
  readText: ReadText = readSmallText,
): Promise<{ options: ServerOptionsInput; certificate: CertificateInfo | undefined }> {
  if (config.httpsCert === '' || config.httpsKey === '') return prepareTls(config, folder, storageDir, options, readText);
  // Each file read once for every attempt: a pipe (a password manager's) gives its text only once.
  const texts = new Map<string, Promise<string>>();
  const readOnce: ReadText = (file) => {
    let text = texts.get(file);
    if (text === undefined) texts.set(file, (text = readText(file)));
    return text;
  };
  const keyPath = path.resolve(folder.folderPath, config.httpsKey);
  const secretKey = passphraseSecretKey(keyPath);
  let stored = await secrets.get(secretKey);
  let passphrase = stored;
  for (let asked = 0; ; asked++) {
    try {
      const prepared = await prepareTls(config, folder, storageDir, options, readOnce, passphrase);
      if (passphrase !== undefined && passphrase !== stored) await secrets.store(secretKey, passphrase);
      return prepared;
    } catch (err) {
      const keyError = (err as { keyError?: PrivateKeyErrorCode }).keyError;
      if (keyError !== 'ERR_KEY_ENCRYPTED' && keyError !== 'ERR_KEY_PASSPHRASE') throw err;
      if (keyError === 'ERR_KEY_PASSPHRASE' && stored !== undefined && passphrase === stored) {
        await secrets.delete(secretKey);
        stored = undefined;
      }
      if (asked >= MAX_PASSPHRASE_ASKS) throw err;
      const answer = await ask({ keyPath, retry: keyError === 'ERR_KEY_PASSPHRASE' && passphrase !== undefined });
      if (answer === undefined) {
        throw Object.assign(new Error(`HTTPS: ${keyPath} is an encrypted private key and no passphrase was given; start again to be asked again`), {
          code: 'ERR_TLS_CONFIG',
          keyError,
        });
      }
      passphrase = answer;
    }
  }
}

function certificateFacts(pem: string): { fingerprint256: string; validTo: string } {
  const x509 = new X509Certificate(pem);
  return { fingerprint256: x509.fingerprint256, validTo: x509.validTo };
}

/** The line for the Output when HTTPS is on: the fingerprint a user compares on the phone. */
export function describeCertificate(c: CertificateInfo): string {
  const what = c.kind === 'self-signed' ? `Self-signed certificate${c.created ? ' (new)' : ''} in ${c.location}` : `Certificate ${c.location}`;
  return `${what}, valid until ${c.validTo}. SHA-256 fingerprint: ${c.fingerprint256}`;
}

/**
 * The URLs other devices use, per running server, worked out once and kept until refresh(): the
 * status bar re-renders up to twice a second while requests arrive and must not ask the interfaces
 * (os.networkInterfaces) each time. The owner refreshes on every server state change, the occasion
 * on which the sharing panel follows interface changes.
 */
export class SharedUrlCache {
  private readonly byServer = new Map<string, { readonly key: string; readonly urls: ReadonlyArray<{ url: string; label: string }> }>();
  private lan: readonly LanAddress[] | undefined;

  constructor(private readonly readLan: () => readonly LanAddress[] = lanAddresses) {}

  /** Forgets every list; the next get() asks the interfaces again (once for all servers). */
  refresh(): void {
    this.byServer.clear();
    this.lan = undefined;
  }

  /** sharedUrls() of one run of `server` (a folder key): computed on the first call after a refresh. */
  get(server: string, since: number, host: string, address: BoundAddress): ReadonlyArray<{ url: string; label: string }> {
    const scheme = schemeOf(address);
    const key = `${since} ${host} ${address.port} ${scheme}`;
    const kept = this.byServer.get(server);
    if (kept?.key === key) return kept.urls;
    const urls = sharedUrls(host, address.port, scheme, (this.lan ??= this.readLan()));
    this.byServer.set(server, { key, urls });
    return urls;
  }
}

/** One running server as the Requests view's sharing panel shows it, its URLs worked out from `lan`. */
export function toSharingServer(
  id: string,
  folderName: string,
  config: PortholeConfig,
  address: BoundAddress,
  certificate: CertificateInfo | undefined,
  lan: readonly LanAddress[] = lanAddresses(),
): SharingServer {
  return sharingServer(id, folderName, config, address, certificate, sharedUrls(config.host, address.port, schemeOf(address), lan));
}

/**
 * One running server as the Requests view's sharing panel shows it, with its URLs already known;
 * `id` (the folder's URI) is what the view's buttons name, since folder names may repeat.
 * The folder name, the captions under the QR codes (interface names) and the client list are escaped.
 */
export function sharingServer(
  id: string,
  folderName: string,
  config: PortholeConfig,
  address: BoundAddress,
  certificate: CertificateInfo | undefined,
  networkUrls: ReadonlyArray<{ url: string; label: string }>,
): SharingServer {
  const mode = sharingModeOf(config.host);
  const urls: SharedUrl[] = networkUrls.map((u) => ({ url: u.url, label: escapeForDisplay(u.label), qrSvg: qrSvg(u.url) }));
  return {
    id,
    // Outside text (a directory's name, a .code-workspace's "name"), shown in the panel's title.
    server: escapeForDisplay(folderName),
    mode,
    localUrl: address.url,
    urls,
    allowedClients: config.allowedClients.map(escapeForDisplay),
    certificate: certificate ? { kind: certificate.kind, fingerprint256: certificate.fingerprint256, validTo: certificate.validTo } : undefined,
    hint: mode === 'shared' ? firewallHint(address.port) : '',
  };
}
