/**
 * The terminal entry: flags → options → PreviewServer. Prints `Local:` (and one `Network:` line
 * per usable interface address when bound beyond loopback), then a line per request unless
 * --quiet. SIGINT/SIGTERM stop gracefully (log flushed) and exit 0; errors exit 1 in plain words.
 *
 * With --workers N (N > 1) this process is the cluster primary: the first worker binds (and takes
 * the next port when the asked one is busy), the others join on that port, and the kernel spreads
 * connections among them (SCHED_NONE). The primary prints the banner and orchestrates shutdown.
 */
import type * as ChildProcessModule from 'node:child_process';
import type { Cluster, Worker } from 'node:cluster';
import { existsSync, statSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  CONFIG_FILE_NAME,
  PreviewServer,
  liesInsideFolder,
  PrivateKeyError,
  SmallFileError,
  checkCertificatePair,
  countOf,
  escapeForDisplay,
  isEncryptedPrivateKey,
  KeptFileError,
  formatShortLine,
  formatConsoleLines,
  isLoopbackBind,
  certificateNames,
  lanAddresses,
  loadOrCreateCertificate,
  noReadPermission,
  notAFolderOnPath,
  networkUrls,
  readSmallFile,
  resolveOptionsWithConfigFile,
  type BoundAddress,
  type OptionLayer,
  type ServerOptions,
  type ServerOptionsInput,
  type TlsOptions,
} from '../core';
import { PASSPHRASE_ENV, USAGE, parseCliArgs, type CliOptions } from './args';
import { renderQrCode } from './qr-code';
import { guardStandardStreams } from './standard-streams';
import { BoundedOutput } from './terminal-output';

declare const PORTHOLE_VERSION: string | undefined;

/**
 * node:cluster, loaded only where it is used (--workers, a worker's failure): with
 * node:child_process (openBrowser's), which it loads too, it was ~2 ms and ~200 KB of heap of
 * every start of the CLI (`node --heap-prof`; issue 14's start-up target).
 */
function clusterModule(): Cluster {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:cluster') as Cluster;
}

/** node:child_process, loaded by the first --open (see clusterModule()). */
function childProcess(): typeof ChildProcessModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:child_process') as typeof ChildProcessModule;
}

/**
 * stdout and stderr, guarded before the first write: one that fails (its reader gone, the
 * terminal closed, a full disk) is written no more, and the server keeps serving.
 */
const streams = guardStandardStreams(process.stdout, process.stderr, process.pid);

/**
 * The server's warning and error lines on stderr, bounded as stdout's request lines are: some
 * come once per request a client chooses (`live reload is not in /app/<any path>: …` for each
 * path of a proxied back-end that compresses its pages), and Node queues every write of a pipe
 * nobody reads (`porthole 2>&1 | less` left paused) in the process, without a bound: 4,000 such
 * requests queued 28 MB. While more than MAX_PENDING_OUTPUT_BYTES wait, they are counted and
 * dropped; once stderr drains, one line says how many. The CLI's own lines (a failure, a signal)
 * are written directly.
 */
const warnings = new BoundedOutput(
  streams.err,
  (n) => `porthole: ${countOf(n, 'warning line')} not shown (stderr was read too slowly)\n`,
);

/**
 * After a second Ctrl-C, the longest the CLI waits for the log file to take its last lines (ms):
 * they take milliseconds; this only bounds a disk that does not answer.
 */
const FORCED_STOP_MS = 2_000;

/**
 * The signals that stop the CLI gracefully (responses finish, the log is flushed, exit 0); a
 * second one closes every connection now. SIGHUP is the terminal closing: without a handler Node
 * dies at once and the log lines still in memory are lost. (On Windows, Node emits SIGHUP when
 * the console window closes, and the process is ended about 10 s later whatever it does.)
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * SIGUSR1 is nginx's "reopen the log files", which logrotate configurations copied from nginx's
 * send after a rotation. Node's default for it starts the inspector on 127.0.0.1:9229, where any
 * local process may run code as this user without a password: every process of the CLI (the
 * primary and each worker) takes it instead. Porthole does not reopen its log file: the primary
 * (or the one process) says once how to rotate it.
 */
function takeUsr1(say: boolean): void {
  if (process.platform === 'win32') return;
  let said = false;
  process.on('SIGUSR1', () => {
    if (!say || said) return;
    said = true;
    streams.err.write(
      'porthole: SIGUSR1 received: Porthole does not reopen its log file (and starts no inspector); rotate the log with copytruncate (logrotate), or stop and start porthole\n',
    );
  });
}

/** What the CLI says on a second stop signal, which closes every connection now (exit 1). */
function saySecondSignal(signal: string): void {
  streams.err.write(`porthole: ${signal} again; closing every connection now and writing the log (once more to exit at once)\n`);
}

/** `1 open response`, `2 open responses and 1 request still arriving` (`open`: false, `1 response`), or '' for none. */
function describeUnfinished(counts: { readonly responses: number; readonly requests: number }, open = true): string {
  const parts: string[] = [];
  if (counts.responses > 0) parts.push(countOf(counts.responses, open ? 'open response' : 'response'));
  if (counts.requests > 0) parts.push(`${countOf(counts.requests, 'request')} still arriving`);
  return parts.join(' and ');
}

/** The third stop signal: exit at once. */
function exitOnThirdSignal(signal: string): never {
  streams.err.write(`porthole: ${signal} a third time; exiting now (log lines not yet written are lost)\n`);
  process.exit(1);
}

/** Distinct worker lines the primary remembers to print each once (runPrimary's sayOnce); more start it afresh. */
const MAX_REMEMBERED_LINES = 1_000;

/** Messages between the cluster primary and its workers. */
type ClusterMessage =
  /** The first worker listens, with the configuration file's settings it read (PreviewServer.fileLayerInUse). */
  | { readonly type: 'listening'; readonly address: BoundAddress; readonly spaReady: boolean; readonly fileLayer: OptionLayer | null }
  | { readonly type: 'failed'; readonly message: string }
  /** A worker asks for the certificate and key the primary read (the files are read once: a pipe has nothing left for a second reader). */
  | { readonly type: 'tls-wanted' }
  /**
   * The primary's answer: the certificate and key to serve with (PEM text), or none for plain
   * HTTP; and to a worker after the first, the configuration file's settings the first read
   * (SharedInstance.fileLayer).
   */
  | { readonly type: 'tls'; readonly tls: CliTls | undefined; readonly fileLayer?: OptionLayer | null }
  /** A worker's line (whole, escaped) for stderr, or stdout with `stdout` (an applied config edit): the primary prints it once per event. */
  | { readonly type: 'say'; readonly line: string; readonly stdout?: true }
  | { readonly type: 'shutdown' }
  /** Live reload: a worker sent its event with this generation; the others catch up (LiveReload.catchUp). */
  | { readonly type: 'generation'; readonly generation: number }
  /** The second Ctrl-C: close every connection now, write the log, exit 1. */
  | { readonly type: 'shutdown-now' }
  /** A worker told to stop: what it waits for (unfinished()), and for how long at most (ms). */
  | { readonly type: 'stopping'; readonly responses: number; readonly requests: number; readonly graceMs: number }
  /** A worker stopped: what its stop cut short (cutOnStop); it exits next. */
  | { readonly type: 'stopped'; readonly responses: number; readonly requests: number };

/**
 * Sends `message` over the cluster's IPC channel: to a worker (from the primary) or, with no
 * worker, to the primary. A peer whose channel has closed is already going (a signal to the whole
 * process group reaches each process, and a worker may exit before the primary's handler runs):
 * nothing is sent, and a close between the check and the write is passed to `done` as an error,
 * never emitted as the 'error' event that would end this process. `done` runs once either way.
 */
function sendOverIpc(message: ClusterMessage, worker?: Worker, done: (err: Error | null) => void = () => undefined): void {
  if (worker !== undefined) {
    if (worker.isConnected()) worker.send(message, undefined, done);
    else done(new Error('the IPC channel is closed'));
  } else if (process.send !== undefined && process.connected) {
    process.send(message, undefined, undefined, done);
  } else {
    done(new Error('the IPC channel is closed'));
  }
}

/** The certificate and key the CLI serves with: PEM text, so that it crosses the cluster's IPC channel as it is. */
interface CliTls extends TlsOptions {
  readonly cert: string;
  readonly key: string;
  readonly privateFiles: readonly string[];
}

/**
 * A cluster worker's start failure: sent to the primary, which prints it (once, whatever the
 * number of workers saying it) and stops the cluster without guessing at a cause; this worker
 * exits 1 once the message is written (or cannot be).
 */
function failInWorker(message: string): Promise<never> {
  sendOverIpc({ type: 'failed', message }, undefined, () => process.exit(1));
  return new Promise<never>(() => undefined);
}

/** Every line the CLI prints that may carry outside text goes through escapeForDisplay. */
function fail(message: string): never {
  streams.err.write(`porthole: ${escapeForDisplay(message)}\n`);
  process.exit(1);
}

/** A warning on stderr; like fail's message, escaped (it may name a file, whose name is outside text). */
function sayWarning(message: string): void {
  streams.err.write(`porthole: warning: ${escapeForDisplay(message)}\n`);
}

/**
 * Why a file a flag names could not be read, in plain words with what to do (after "cannot read
 * … FILE: "); the OS code stays in parentheses for a search.
 */
function unreadableFile(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist (ENOENT); check the path';
    case 'ENOTDIR': {
      const which = notAFolderOnPath(path);
      return which === undefined ? 'a part of its path is a file, not a folder (ENOTDIR); check the path' : `${which} (ENOTDIR); check the path`;
    }
    case 'EISDIR':
      return 'it is a folder (EISDIR); give the path of a file';
    case 'EACCES':
    case 'EPERM':
      return noReadPermission(path, code);
    default:
      return code === undefined ? String(err) : `${(err as Error).message} (${code})`;
  }
}

/**
 * Why a folder the CLI keeps files in could not be made or written, in plain words (after
 * "cannot keep … in DIR: "); the OS code stays in parentheses for a search.
 */
function unwritableFolder(err: unknown, dir: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST': {
      const which = notAFolderOnPath(dir);
      return which === undefined ? `a part of its path is a file, not a folder (${code})` : `${which} (${code}); remove or move it`;
    }
    case 'ENOENT':
      return 'it cannot be made there (ENOENT)';
    case 'EACCES':
    case 'EPERM':
      return `no permission to write there (${code})`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'ENOSPC':
      return 'the disk is full (ENOSPC)';
    default:
      return code === undefined ? String(err) : `${(err as Error).message} (${code})`;
  }
}

/** What xdg-open's exit codes mean (its manual), as said after "xdg-open exited with code N". */
const XDG_OPEN_EXITS: Readonly<Record<number, string>> = {
  3: ' (it found no browser to open)',
  4: ' (the browser it found failed to start)',
};

/**
 * Opens `url` in the default browser with the platform's opener (open, start, xdg-open), not
 * waited for. When the opener cannot be started, or exits non-zero (xdg-open's 3: no browser or
 * tool found; 4: the one found failed), stderr says so and gives the URL to open by hand.
 */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  const warn = (what: string): boolean => streams.err.write(`porthole: could not open a browser: ${escapeForDisplay(`${what}; open ${url} yourself`)}\n`);
  try {
    // The browser is no business of the key's passphrase.
    const env = { ...process.env };
    delete env[PASSPHRASE_ENV];
    const child = childProcess().spawn(cmd, args, { detached: true, stdio: 'ignore', env });
    child.on('error', (err: NodeJS.ErrnoException) => warn(`${cmd} ${err.code === 'ENOENT' ? 'was not found' : `failed (${err.code ?? err.message})`}`));
    child.on('exit', (code, signal) => {
      if (code !== null && code !== 0) warn(`${cmd} exited with code ${code}${cmd === 'xdg-open' ? (XDG_OPEN_EXITS[code] ?? '') : ''}`);
      else if (signal !== null) warn(`${cmd} was ended by ${signal}`);
    });
    child.unref();
  } catch (err) {
    warn(`${cmd} could not be started (${(err as Error).message})`);
  }
}

/**
 * The text of the file `flag` names at `path` (a certificate, a key, a passphrase file), read by
 * readSmallFile: a regular file, or a pipe written and closed within PIPE_CLOSE_WAIT_MS, of at most
 * MAX_SMALL_FILE_BYTES. Exits saying what `path` is and what to do (`todo`) when it is none of
 * those ("--cert /dev/zero is a character device, not a file: name a PEM certificate file"), or
 * why it could not be read ("--cert: cannot read the certificate FILE: it does not exist…").
 */
async function readNamedFile(flag: string, what: string, path: string, todo: string): Promise<string> {
  try {
    return (await readSmallFile(path)).toString('utf8');
  } catch (err) {
    if (err instanceof SmallFileError && err.code !== 'EISDIR') fail(`${flag} ${path} ${err.reason}: ${todo}`);
    fail(`${flag}: cannot read the ${what} ${path}: ${unreadableFile(err, path)}`);
  }
}

/**
 * The passphrase for the encrypted --key at `keyPath`: the first line of --passphrase-file
 * (without a UTF-8 BOM before it, which Notepad writes, and without its line end, as `openssl
 * -passin file:` reads it; a pipe such as `<(pass show key)` too), else the PASSPHRASE_ENV
 * environment variable, else none. Exits on an unreadable, empty or oversized file, on one whose
 * first line is blank, on one that is no file (readNamedFile), and on PASSPHRASE_ENV set but
 * empty; warns when others may read the file. Read only for a key that is encrypted (loadTls).
 */
async function readPassphrase(file: string | undefined, keyPath: string): Promise<{ passphrase: string; source: string } | undefined> {
  if (file === undefined) {
    const fromEnv = process.env[PASSPHRASE_ENV];
    // Said as it is: tried as the passphrase, it was "does not decrypt", as a wrong one.
    if (fromEnv === '') fail(`the private key ${keyPath} is encrypted, and ${PASSPHRASE_ENV} is set but empty: set it to the key's passphrase, or unset it and pass --passphrase-file FILE`);
    return fromEnv === undefined ? undefined : { passphrase: fromEnv, source: `the environment variable ${PASSPHRASE_ENV}` };
  }
  const text = (await readNamedFile('--passphrase-file', 'passphrase file', file, 'name a file whose first line is the passphrase')).replace(/^\uFEFF/, '');
  try {
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
      sayWarning(`other users may read the passphrase file ${file}; chmod 600 it`);
    }
  } catch {
    // Gone since it was read (a pipe's /dev/fd name): nothing left to warn about.
  }
  const passphrase = text.split(/\r?\n/)[0] ?? '';
  if (passphrase.length === 0) {
    if (/^\s*$/.test(text)) fail(`the passphrase file ${file} is empty: put the passphrase on its first line`);
    fail(`the first line of the passphrase file ${file} is blank (the passphrase is on a later line): the passphrase is read from the first line; put it there`);
  }
  return { passphrase, source: file };
}

/**
 * The folder `--https` keeps its self-signed certificate and key in: `$XDG_CACHE_HOME/porthole`
 * when XDG_CACHE_HOME is an absolute path, else `<home>/.cache/porthole`; undefined when neither
 * is (no home). An empty or relative XDG_CACHE_HOME is ignored, as the XDG Base Directory spec
 * says ("a relative path … should be considered invalid and ignored"): read as given, it put the
 * private key under the working folder (`porthole/key.pem`), often the very folder being served.
 */
function selfSignedFolder(env: NodeJS.ProcessEnv, home: string): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg.length > 0 && isAbsolute(xdg)) return join(xdg, 'porthole');
  return home.length > 0 && isAbsolute(home) ? join(home, '.cache', 'porthole') : undefined;
}

/**
 * The certificate and key to serve with, or undefined for plain HTTP. Exits on a bad pair, and on
 * a --cert, --key or --passphrase-file that cannot be read or is no file (readNamedFile).
 */
async function loadTls(options: CliOptions, effective: ServerOptions): Promise<{ tls: CliTls | undefined; notes: string[] }> {
  const choice = options.tls;
  if (choice.kind === 'none') return { tls: undefined, notes: [] };
  if (choice.kind === 'files') {
    const cert = await readNamedFile('--cert', 'certificate', choice.certPath, "name a PEM certificate file (e.g. mkcert's NAME.pem)");
    const key = await readNamedFile('--key', 'private key', choice.keyPath, "name a PEM private key file (e.g. mkcert's NAME-key.pem)");
    // A passphrase is read only for a key that needs one: a named pipe given for nothing held the start 5 s.
    let given: { passphrase: string; source: string } | undefined;
    if (isEncryptedPrivateKey(key)) given = await readPassphrase(choice.passphraseFile, choice.keyPath);
    else if (choice.passphraseFile !== undefined) sayWarning(`--passphrase-file ${choice.passphraseFile} is not used: the private key ${choice.keyPath} is not encrypted`);
    let usableKey: string;
    try {
      usableKey = checkCertificatePair(cert, key, choice.certPath, choice.keyPath, given?.passphrase);
    } catch (err) {
      if (err instanceof PrivateKeyError && err.code === 'ERR_KEY_ENCRYPTED') {
        fail(`${err.message}: put it in a file and pass --passphrase-file FILE, or set ${PASSPHRASE_ENV}`);
      }
      if (err instanceof PrivateKeyError && err.code === 'ERR_KEY_PASSPHRASE') fail(`${err.message} (passphrase from ${given?.source ?? '?'})`);
      fail((err as Error).message);
    }
    const decrypted = usableKey !== key ? ` (key decrypted with the passphrase from ${given?.source ?? '?'})` : '';
    const privateFiles = choice.passphraseFile === undefined ? [choice.keyPath] : [choice.keyPath, choice.passphraseFile];
    return { tls: { cert, key: usableKey, privateFiles }, notes: [`HTTPS with ${choice.certPath}${decrypted}`] };
  }
  // The extension's list: the machine's name too (answered while shared), and the bound address,
  // loopback ones (127.0.0.2) too, since the printed URL names it.
  const names = certificateNames(lanAddresses(), hostname(), effective.host);
  const dir = selfSignedFolder(process.env, homedir());
  if (dir === undefined) {
    fail('--https: no folder to keep the self-signed certificate in (no home folder, and XDG_CACHE_HOME is not an absolute path); set XDG_CACHE_HOME to an absolute folder you can write, or pass --cert FILE --key FILE');
  }
  let made: ReturnType<typeof loadOrCreateCertificate>;
  try {
    made = loadOrCreateCertificate(dir, names);
  } catch (err) {
    // A folder with files where a kept file belongs: its message says which to remove.
    if (err instanceof KeptFileError) fail(`--https: cannot keep the self-signed certificate in ${dir}: ${err.message}`);
    fail(`--https: cannot keep the self-signed certificate in ${dir}: ${unwritableFolder(err, dir)}; set XDG_CACHE_HOME to a folder you can write, or pass --cert FILE --key FILE`);
  }
  return {
    tls: { cert: made.cert, key: made.key, privateFiles: [join(dir, 'key.pem')] },
    notes: [
      `HTTPS with a self-signed certificate (${made.created ? 'new' : 'kept'} in ${dir}, valid to ${made.validTo})`,
      `SHA-256 fingerprint: ${made.fingerprint256}`,
      // What to do with it (helper-121: nothing said how to trust it, nor that clicking through a
      // warning leaves the page without service workers).
      `Trust it: curl --cacert ${join(dir, 'cert.pem')} …; a browser warns until that file is trusted (its certificate store), and a page whose warning was clicked through registers no service worker. For phones, a pair from mkcert (--cert/--key, its root installed on the phone) is trusted.`,
    ],
  };
}

/** `spaReady`: the server's verdict on the SPA fallback (PreviewServer.spaFallbackReady). */
function banner(options: CliOptions, effective: ServerOptions, address: BoundAddress, notes: readonly string[], spaReady: boolean): string {
  const scheme = address.url.startsWith('https') ? 'https' : 'http';
  const lines = [`Serving ${effective.root}`];
  lines.push(`Local: ${address.url}`);
  if (effective.port === null) lines.push(`Port ${address.requestedPort ?? address.port} is this folder's own (derived from its path, the same on every start; --port N chooses another)`);
  const network = networkUrls(address.host, address.port, scheme).map((u) => u.url);
  for (const url of network) lines.push(`Network: ${url}`);
  if (!isLoopbackBind(address.host)) {
    lines.push('Shared on the network: every device that can reach this machine can read this folder.');
    if (network.length === 0) lines.push('No network address found: is this machine on a network?');
    else lines.push('Nothing connects? A firewall is the usual cause: allow this port (e.g. `sudo ufw allow ' + address.port + '/tcp`).');
    // .git is never served, dotfiles or not (README, Security defaults): the warning is about the rest.
    if (effective.dotfiles) lines.push('Warning: hidden files are served while shared (--dotfiles, or dotfiles in the config file): every device that can reach this machine can read .env and the other dotfiles (.git stays denied).');
    const { logFile, root } = effective;
    if (logFile !== undefined && liesInsideFolder(root, logFile)) {
      lines.push(
        `Note: the request log ${logFile} is inside the shared folder. It names every client and URL; only this computer can read it over HTTP (other devices get 404). To keep it out of the folder, pass --log with a path elsewhere.`,
      );
    }
  }
  // The effective routes and folders: the configuration file's too.
  for (const route of effective.proxy.routes) lines.push(`Proxy: ${route.prefix} → ${route.target}`);
  // Watched for live reload only: with it off (--no-reload over the file's watchPaths) nothing is.
  if (effective.reload.enabled) for (const folder of effective.reload.watchPaths) lines.push(`Watching also: ${folder}`);
  for (const mount of effective.mounts) lines.push(`Mount: ${mount.prefix} → ${mount.folder}`);
  if (effective.cleanUrls) lines.push('Clean URLs: /about serves about.html; /about.html redirects to /about');
  // Said as clean URLs are: with --spa, or "spa" in the config file (helper-147: not in the banner).
  // A fallback that cannot answer at start is warned of (stderr): the banner does not claim it
  // answers (helper-161: "gets /app.html" beside "does not exist"). The server's own verdict, so
  // the two agree on a hidden file, a link out or a guarded one too, not only a missing one.
  if (effective.spa !== undefined) {
    lines.push(
      spaReady
        ? `SPA fallback: a navigation to a missing path gets /${effective.spa}`
        : `SPA fallback: /${effective.spa}, not answering now (the warning says why; a navigation to a missing path gets 404 until it can)`,
    );
  }
  if (effective.reload.enabled && effective.consoleForward !== 'off') {
    const what = effective.consoleForward === 'all' ? 'console messages' : 'errors (console.error, uncaught errors, unhandled rejections)';
    lines.push(`Console: pages' ${what} are printed here (--console off|errors|all)`);
  }
  lines.push(...notes);
  const configFile = effective.configFile ? configFileIn(effective) : undefined;
  if (configFile !== undefined) lines.push(`Config: ${configFile} (flags given here override it; an edit applies at once, but one of the port, host, log, timeouts, live reload, proxy or mounts needs a restart: made by itself, or said with --workers)`);
  if (effective.logFile !== undefined) lines.push(`Log: ${effective.logFile}`);
  // Paths (the root, the log file) are names from the disk: escaped like everything else printed.
  const shown = lines.map(escapeForDisplay);
  if (options.qr) {
    const target = network[0];
    if (target !== undefined) {
      shown.push(`QR code for ${escapeForDisplay(target)}:`, renderQrCode(target));
    } else if (isLoopbackBind(address.host)) {
      // A phone that scanned a code of 127.0.0.1 would open its own loopback, not this machine.
      shown.push(
        `No QR code: this server listens on ${escapeForDisplay(address.host)} only, which a phone takes for itself. To open it on a phone, share it on the network: porthole --host 0.0.0.0 --qr (see "Sharing on the network" in the README).`,
      );
    } else {
      shown.push('No QR code: no network address found to put in it; connect this machine to a network and start again.');
    }
  }
  return shown.join('\n') + '\n';
}

function serverOptions(options: CliOptions, tls: TlsOptions | undefined): ServerOptionsInput {
  return { ...options.server, tls };
}

/** The configuration file's path when the root has one. */
function configFileIn(effective: ServerOptions): string | undefined {
  const path = join(effective.root, CONFIG_FILE_NAME);
  return existsSync(path) ? path : undefined;
}

/**
 * The options the server will run with: the flags over the root's configuration file over the
 * defaults, read by the same core code the server uses; and the file's settings as read, for the
 * server (serve's `fileLayer`). Exits 1 naming the file, key and reason.
 */
async function effectiveOptions(options: CliOptions): Promise<{ options: ServerOptions; fileLayer: OptionLayer | null }> {
  try {
    return await resolveOptionsWithConfigFile(options.server);
  } catch (err) {
    fail((err as Error).message);
  }
}

/**
 * One process serving (the whole CLI with one worker, or one cluster worker). `fileLayer`: the
 * configuration file's settings the cluster's first worker read, for a worker after it
 * (SharedInstance.fileLayer); undefined: the file is read at the start.
 */
async function serve(
  options: CliOptions,
  input: ServerOptionsInput,
  onListening: (a: BoundAddress, server: PreviewServer) => void,
  fileLayer?: OptionLayer | null,
): Promise<PreviewServer> {
  // A cluster worker: the primary's instance id (runPrimary); one process: its own.
  const instanceId = process.env.PORTHOLE_CLUSTER_INSTANCE;
  // A cluster worker after the first: the port the first took (runPrimary), the options' own kept.
  const clusterPort = process.env.PORTHOLE_CLUSTER_PORT;
  const server = new PreviewServer({
    ...(instanceId === undefined ? {} : { instanceId }),
    ...(clusterPort === undefined ? {} : { bindPort: Number(clusterPort) }),
    ...(fileLayer === undefined ? {} : { fileLayer }),
  });
  // serve() runs in a cluster worker exactly when there are workers (the primary serves nothing).
  const worker = options.workers > 1;
  server.on('diagnostic', (level, message) => {
    if (level !== 'error' && level !== 'warn') return;
    const line = `porthole: ${escapeForDisplay(message)}\n`;
    // A worker's goes through the primary, which prints what every worker says once (sayOnce).
    if (worker) sendOverIpc({ type: 'say', line }, undefined, (err) => (err === null ? undefined : warnings.write(line)));
    else warnings.write(line);
  });
  let address: BoundAddress;
  try {
    address = await server.listen(input);
  } catch (err) {
    // `--log /dev/null` for "no log": refused as any device (the log is a regular file); here the
    // way to keep no log file is said too.
    const noLog = (err as { code?: unknown }).code === 'ELOGFILE' && input.logFile === '/dev/null' ? '; to keep no log file, start without --log' : '';
    const message = `${(err as Error).message}${noLog}`;
    // A worker's: the primary prints it and stops.
    if (worker) return await failInWorker(message);
    fail(message);
  }
  // An edit of the configuration file that was applied (or changed nothing in use: a flag given
  // here overrides the key edited) is said, so an edit is never met with silence (helper-121).
  server.on('config', (change) => {
    if (change.kind !== 'applied') return;
    const line = `porthole: ${escapeForDisplay(change.message)}\n`;
    if (worker) sendOverIpc({ type: 'say', line, stdout: true }, undefined, (err) => (err === null ? undefined : streams.out.write(line)));
    else streams.out.write(line);
  });
  // Request and console lines: dropped (and counted, then reported) while stdout is read too slowly.
  const logFile = server.options.logFile;
  streams.stdoutNote = () => (logFile === undefined ? 'to keep a record of every request, start it with --log FILE' : `${escapeForDisplay(logFile)} has every request`);
  const out = new BoundedOutput(
    streams.out,
    (n) => `porthole: ${countOf(n, 'line')} not shown (output was read too slowly)${logFile === undefined ? '; --log FILE keeps every request' : `; ${escapeForDisplay(logFile)} has every request`}\n`,
  );
  if (!options.quiet) server.addLineSink((r) => out.write(formatShortLine(r) + '\n'));
  // Pages' console messages (--console): escaped when received, continuation lines indented.
  server.on('console', (entry) => out.write(formatConsoleLines(entry).join('\n') + '\n'));
  // The options it runs with, the configuration file's included (read once, by listen).
  onListening(address, server);
  return server;
}

async function runSingle(options: CliOptions): Promise<void> {
  const { options: effective, fileLayer } = await effectiveOptions(options);
  const { tls, notes } = await loadTls(options, effective);
  // Signals are taken before the banner is printed: whoever reads `Local:` may stop us at once.
  const running: { server?: PreviewServer } = {};
  let stopping = false;
  let hurrying = false;
  const stop = (signal: string): void => {
    if (hurrying) exitOnThirdSignal(signal);
    if (stopping) {
      // The second Ctrl-C: stop waiting for responses, but not for the log (a few ms of disk).
      hurrying = true;
      saySecondSignal(signal);
      const exit = (): never => process.exit(1);
      running.server?.closeNow().then(exit, exit);
      setTimeout(exit, FORCED_STOP_MS).unref();
      return;
    }
    stopping = true;
    const server = running.server;
    if (server === undefined) process.exit(0);
    const closed = server.close();
    // Said at once: the stop may wait up to the grace for responses (a download, a slow client).
    const grace = `${server.options.timeouts.closeGraceMs / 1000} s`;
    const open = describeUnfinished(server.unfinished());
    const again = signal === 'SIGINT' ? 'press Ctrl-C again to stop now' : `${signal} again stops now`;
    if (open !== '') streams.err.write(`porthole: stopping (${signal}): waiting up to ${grace} for ${open} (${again})\n`);
    closed.then(
      () => {
        const cut = describeUnfinished(server.cutOnStop, false);
        const some = server.cutOnStop.responses + server.cutOnStop.requests;
        if (cut !== '') streams.err.write(`porthole: ${cut} ${some === 1 ? 'was' : 'were'} cut short ${hurrying ? `by the second ${signal}` : `after ${grace}`} (logged as aborted)\n`);
        // Exit 1 when a second signal cut responses short (every line is written either way).
        process.exit(hurrying ? 1 : 0);
      },
      (err: unknown) => fail(`stopping failed: ${String(err)}`),
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => stop(signal));
  takeUsr1(true);
  const start = async (first: boolean): Promise<void> => {
    // The first start uses the file as effectiveOptions read it (not the root and the file read
    // twice); a restart, made by an edit of the file, reads it anew.
    const server = await serve(
      options,
      serverOptions(options, tls),
      (address, started) => {
        streams.out.write(banner(options, started.options, address, notes, started.spaFallbackReady()));
        if (first && options.open) openBrowser(address.url);
      },
      first ? fileLayer : undefined,
    );
    running.server = server;
    // An edit of the configuration file that changes the binding (port, host, log, reload) restarts.
    server.on('config', (change) => {
      if (change.kind !== 'restart' || stopping || running.server !== server) return;
      // Prefixed as the other lines about the file are (helper-161: this one alone was not).
      streams.out.write(`porthole: ${escapeForDisplay(change.message)}: restarting\n`);
      running.server = undefined;
      server
        .close()
        .then(() => (stopping ? undefined : start(false)))
        .catch((err: unknown) => fail(`restarting failed: ${(err as Error).message}`));
    });
  };
  await start(true);
}

async function runPrimary(options: CliOptions): Promise<void> {
  const { options: effective, fileLayer } = await effectiveOptions(options);
  // Read here, once, and handed to each worker that asks ('tls-wanted'): a pipe (`--cert <(…)`,
  // a --passphrase-file a password manager writes) has nothing left for a second reader, and each
  // worker reading the files again failed after the pipe's wait.
  const { tls, notes } = await loadTls(options, effective);
  const cluster = clusterModule();
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers: Worker[] = [];
  /** Each line workers said (sayOnce): how many times each worker (by id) said it. */
  const said = new Map<string, Map<number, number>>();
  /**
   * Prints `line` from the worker `id` unless another worker has said it as many times already:
   * what every worker meets (a --watch folder not made yet, an invalid edit of the config file)
   * is one line per event, not one per worker; a second event is a second line.
   */
  const sayOnce = (id: number, line: string, toStdout = false): void => {
    let byWorker = said.get(line);
    if (byWorker === undefined) {
      if (said.size >= MAX_REMEMBERED_LINES) said.clear();
      byWorker = new Map();
      said.set(line, byWorker);
    }
    const times = (byWorker.get(id) ?? 0) + 1;
    byWorker.set(id, times);
    if ([...byWorker].every(([other, n]) => other === id || n < times)) (toStdout ? streams.out : warnings).write(line);
  };
  let stopping = false;
  let exitCode = 0;
  /**
   * A stop by a signal, said as one process says it (runSingle): what the workers wait for, once
   * every worker serving has said it ('stopping'), and what their stop cut short ('stopped'), once
   * the last has exited. `open`: what each worker that said it waits for (the workers missing from
   * it are yet to say).
   */
  const stop = {
    signal: undefined as string | undefined,
    hurried: false,
    said: false,
    /** What each worker said it waits for ('stopping'; one may say it before this process's own handler for a signal to the group ran). */
    open: new Map<Worker, { readonly responses: number; readonly requests: number }>(),
    graceMs: 0,
    cut: { responses: 0, requests: 0 },
  };
  const sayWaiting = (): void => {
    if (stop.signal === undefined || stop.said || stop.hurried || workers.some((w) => !stop.open.has(w))) return;
    stop.said = true;
    const sum = { responses: 0, requests: 0 };
    for (const counts of stop.open.values()) {
      sum.responses += counts.responses;
      sum.requests += counts.requests;
    }
    const open = describeUnfinished(sum);
    const again = stop.signal === 'SIGINT' ? 'press Ctrl-C again to stop now' : `${stop.signal} again stops now`;
    if (open !== '') streams.err.write(`porthole: stopping (${stop.signal}): waiting up to ${stop.graceMs / 1000} s for ${open} (${again})\n`);
  };
  const sayCut = (): void => {
    const cut = describeUnfinished(stop.cut, false);
    if (cut === '' || stop.signal === undefined) return;
    const some = stop.cut.responses + stop.cut.requests;
    streams.err.write(`porthole: ${cut} ${some === 1 ? 'was' : 'were'} cut short ${stop.hurried ? `by the second ${stop.signal}` : `after ${stop.graceMs / 1000} s`} (logged as aborted)\n`);
  };
  /** Workers that said why they could not start ('failed'): their exit needs no guess at a cause. */
  const reported = new Set<number>();
  const forkOne = (env: Record<string, string>): Worker => {
    const w = cluster.fork(env);
    workers.push(w);
    w.on('message', (m: ClusterMessage) => {
      // A worker after the first starts with the settings the first read from the configuration
      // file (not the file as it is by then: an edit saved meanwhile is read by each as an edit).
      if (m.type === 'tls-wanted') sendOverIpc({ type: 'tls', tls, fileLayer: firstFileLayer }, w);
      // The first worker's before it listens is handled below (fail: nothing was served).
      if (m.type === 'failed' && w !== first) {
        reported.add(w.id);
        sayOnce(w.id, `porthole: ${escapeForDisplay(m.message)}\n`);
      }
      // On the stream one process would have used (a config edit applied: stdout).
      if (m.type === 'say') sayOnce(w.id, m.line, m.stdout === true);
      if (m.type === 'stopping') {
        stop.open.set(w, { responses: m.responses, requests: m.requests });
        stop.graceMs = m.graceMs;
        sayWaiting();
      }
      if (m.type === 'stopped') {
        stop.cut.responses += m.responses;
        stop.cut.requests += m.requests;
      }
      if (m.type === 'generation') for (const other of workers) if (other !== w) sendOverIpc(m, other);
    });
    // `code` is null for a worker ended by a signal (`signal`: the OOM killer's SIGKILL, a kill).
    w.on('exit', (code: number | null, signal: string | null) => {
      workers.splice(workers.indexOf(w), 1);
      // One that exits without saying (it had not started, or it failed) is waited for no more.
      sayWaiting();
      if (code !== 0 && !stopping) {
        exitCode = 1;
        // What happened and what to do: the cluster stops (no worker is started in its place, as
        // nginx's master would); a SIGKILL is most often the system out of memory.
        // A worker that said why it could not start: that reason (printed above) is the cause.
        const how =
          code === null
            ? `was ended by ${signal ?? 'a signal'}${signal === 'SIGKILL' ? ' (often the system out of memory)' : ''}`
            : `exited with code ${code} (its reason is above)`;
        streams.err.write(
          reported.has(w.id)
            ? 'porthole: a worker could not start (its reason is above); stopping the others\n'
            : `porthole: a worker ${how}; stopping the others. Start porthole again (fewer --workers if memory is short)\n`,
        );
        stopAll();
      }
      if (workers.length === 0) {
        sayCut();
        process.exit(exitCode);
      }
    });
    return w;
  };
  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const w of workers) sendOverIpc({ type: 'shutdown' }, w);
  };
  // Signals are taken before the first fork: a Ctrl-C from then on stops the cluster (Node's
  // default for it would end the primary alone, and the worker with an EPIPE trace).
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals++;
    if (signals === 1) {
      if (!stopping) stop.signal = signal;
      stopAll();
      sayWaiting();
      return;
    }
    stop.hurried = true;
    if (signals > 2) exitOnThirdSignal(signal);
    // The second: as in one process, the workers close every connection and write their logs.
    saySecondSignal(signal);
    exitCode = 1;
    for (const w of workers) sendOverIpc({ type: 'shutdown-now' }, w);
    setTimeout(() => process.exit(1), FORCED_STOP_MS).unref();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => onSignal(signal));
  takeUsr1(true);
  // One live-reload instance for the whole cluster: a page's WebSocket may land on another
  // worker than the one that served the page, and a differing id makes the page reload.
  const instance = { PORTHOLE_CLUSTER_INSTANCE: globalThis.crypto.randomUUID() };
  /**
   * The configuration file's settings for the workers: as effectiveOptions read them here (the
   * first worker does not read the root and the file again), then as the first worker started
   * with them (its 'listening': its watcher's first read catches an edit saved in between).
   */
  let firstFileLayer: OptionLayer | null = fileLayer;
  const first = forkOne(instance);
  first.on('message', (m: ClusterMessage) => {
    if (m.type === 'failed') fail(m.message);
    // Stopping (a Ctrl-C while the first worker started): it stops once listening, and no other
    // is forked: one forked now would never be told to stop, and serve for ever.
    if (m.type !== 'listening' || stopping) return;
    firstFileLayer = m.fileLayer;
    streams.out.write(banner(options, effective, m.address, [...notes, `Workers: ${options.workers} processes`], m.spaReady));
    if (options.open) openBrowser(m.address.url);
    // The port the first worker took; with --port 0 ("any free port") the others ask for 0 too:
    // the cluster gives every listen(0) the handle the first one got, where a listen on the
    // number itself would be another handle, refused with EADDRINUSE (the worker exited 1).
    const clusterPort = effective.port === 0 ? '0' : String(m.address.port);
    for (let i = 1; i < options.workers; i++) forkOne({ ...instance, PORTHOLE_CLUSTER_PORT: clusterPort });
  });
}

async function runWorker(options: CliOptions): Promise<void> {
  const running: { server: PreviewServer | undefined } = { server: undefined };
  let hurrying = false;
  let stopAsked = false;
  /** 'stopped' was sent (once: a second Ctrl-C closes again, and both closes settle). */
  let stoppedSaid = false;
  /** `now`: the primary's shutdown-now (a second Ctrl-C): every connection closes at once, exit 1. */
  const stop = (now: boolean): void => {
    hurrying ||= now;
    stopAsked = true;
    // Asked while still starting: done once listening (below).
    const server = running.server;
    if (server === undefined) return;
    const closed = hurrying ? server.closeNow() : server.close();
    // What it waits for, said by the primary for the whole cluster (runPrimary's stop).
    const open = server.unfinished();
    if (!now) sendOverIpc({ type: 'stopping', ...open, graceMs: server.options.timeouts.closeGraceMs });
    closed.then(
      () => {
        if (stoppedSaid) return;
        stoppedSaid = true;
        const exit = (): never => process.exit(hurrying ? 1 : 0);
        sendOverIpc({ type: 'stopped', ...server.cutOnStop }, undefined, exit);
      },
      () => process.exit(1),
    );
  };
  // Listened to first: a Ctrl-C while this worker starts (the primary forks the others once the
  // first listens) must not be lost, or the primary waits for this worker for ever.
  // The terminal's Ctrl-C reaches every process of the group: the primary decides.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => stop(false));
  // A closed terminal's SIGHUP reaches every process of the group too: each closes as on SIGTERM.
  process.on('SIGHUP', () => stop(false));
  // SIGUSR1 to the process group: no inspector in a worker either (the primary says so).
  takeUsr1(false);
  process.on('message', (m: ClusterMessage) => {
    if (m.type === 'shutdown') stop(false);
    if (m.type === 'shutdown-now') stop(true);
    if (m.type === 'generation') running.server?.liveReload?.catchUp(m.generation);
  });
  process.on('disconnect', () => stop(false));
  // The certificate and key the primary read (runPrimary): never read again here.
  // With them, for a worker after the first, the configuration file's settings the first read.
  const { tls, fileLayer } = await new Promise<{ tls: CliTls | undefined; fileLayer: OptionLayer | null | undefined }>((resolveTls) => {
    const onMessage = (m: ClusterMessage): void => {
      if (m.type !== 'tls') return;
      process.off('message', onMessage);
      resolveTls({ tls: m.tls, fileLayer: m.fileLayer });
    };
    process.on('message', onMessage);
    sendOverIpc({ type: 'tls-wanted' }, undefined, (err) => (err === null ? undefined : process.exit(1)));
  });
  const fixedPort = process.env.PORTHOLE_CLUSTER_PORT;
  // The port is serve()'s to take from the primary (bindPort); the options keep the layers' own.
  const input: ServerOptionsInput = serverOptions(options, tls);
  const server = await serve(
    options,
    input,
    (address, started) => sendOverIpc({ type: 'listening', address, spaReady: started.spaFallbackReady(), fileLayer: started.fileLayerInUse }),
    fileLayer,
  );
  running.server = server;
  // One live-reload instance: its events' count is the cluster's (LiveReload.catchUp).
  if (server.liveReload !== undefined) server.liveReload.onGeneration = (generation) => sendOverIpc({ type: 'generation', generation });
  // Live options of an edited config file apply in every worker; a new binding cannot be shared.
  server.on('config', (change) => {
    if (change.kind === 'restart' && fixedPort === undefined) {
      streams.err.write(`porthole: ${change.message}; with --workers, stop and start porthole to apply it\n`);
    }
  });
  if (stopAsked) stop(hurrying);
}

/** The last line when the command line is refused (an unknown flag as an invalid value). */
const NOTHING_STARTED = 'porthole: nothing was started; `porthole --help` lists the options.\n';
const parsed = parseCliArgs(process.argv.slice(2), process.cwd());
switch (parsed.kind) {
  case 'help':
    streams.out.write(USAGE);
    break;
  case 'version':
    streams.out.write(`${typeof PORTHOLE_VERSION === 'string' ? PORTHOLE_VERSION : 'dev'}\n`);
    break;
  case 'error':
    // Node's own message (parseArgs) may hold line breaks: kept as breaks, each line escaped.
    // (Messages that may carry a file's or a client's text keep every break escaped.)
    // Not the whole usage (60 lines that scroll the one line that matters away): how to see it.
    streams.err.write(`porthole: ${parsed.message.split(/\r?\n/).map(escapeForDisplay).join('\n  ')}\n${NOTHING_STARTED}`);
    process.exit(1);
    break;
  case 'invalid':
    // Nothing starts: each invalid value with its flag and the reason (values already escaped).
    streams.err.write(parsed.problems.map((p) => `porthole: ${escapeForDisplay(p)}\n`).join('') + NOTHING_STARTED);
    process.exit(1);
    break;
  case 'run': {
    const options = parsed.options;
    const primary = options.workers <= 1 || clusterModule().isPrimary;
    const run = options.workers <= 1 ? runSingle(options) : primary ? runPrimary(options) : runWorker(options);
    run.catch((err: unknown) => (primary ? fail(String(err)) : failInWorker(String(err))));
    break;
  }
}
