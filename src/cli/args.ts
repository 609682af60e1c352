/**
 * Flags → options. Pure: no I/O, so tests can feed it argv arrays. Errors are values with a plain
 * message ("unknown flag --prot").
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_PROXY, DERIVED_PORT_RANGE, DEFAULT_RELOAD, DEFAULT_TIMEOUTS, parseProxySpec, type ProxyRoute, type ServerOptionsInput } from '../core';

/** The environment variable the passphrase of an encrypted --key is read from. */
export const PASSPHRASE_ENV = 'PORTHOLE_KEY_PASSPHRASE';

export const USAGE = `Usage: porthole [root] [options]

Serves the folder [root] (default: the current folder) over HTTP, on raw sockets.

Options:
  --port N             port to listen on (default: the folder's own port in
                       ${DERIVED_PORT_RANGE.first}–${DERIVED_PORT_RANGE.first + DERIVED_PORT_RANGE.count - 1}, derived from its path, the same on every
                       start; 0 = any free port; when busy, the next free one is taken and said)
  --host ADDR          address to bind (default ${DEFAULT_HOST}; 0.0.0.0 shares on the network)
  --log FILE           append a Combined Log Format line per request to FILE
  --no-listing         answer 404 for folders without index.html instead of listing them
  --dotfiles           serve files and folders whose name starts with "."
  --follow-symlinks    serve symlinks that lead outside the root
  --allowed-host NAME  also answer to this Host name (repeatable; tunnels, custom names)
  --allowed-client CIDR  only these clients (repeatable, e.g. 192.168.1.0/24); loopback always
  --no-host-names      do not reverse-resolve client addresses for the log
  --no-reload          no live reload: pages are served exactly as they are on disk
  --reload-ignore GLOB changes matching GLOB (relative to the root) never reload pages
                       (repeatable; always ignored: ${DEFAULT_RELOAD.ignore.join(', ')}, the log file)
  --reload-debounce MS wait for MS quiet milliseconds before pages follow changes
                       (default ${DEFAULT_RELOAD.debounceMs})
  --watch PATH         also reload pages when files under PATH change (repeatable; a
                       back-end's templates outside the root)
  --proxy PREFIX=URL   pass requests under PREFIX to a back-end, e.g. /api=http://127.0.0.1:3000
                       (repeatable; longest prefix wins; bodies, WebSockets and live reload
                       in its HTML pages included)
  --proxy-rewrite-host send the back-end its own host:port as Host (default: the browser's)
  --proxy-timeout S    a back-end must start answering within S seconds (default ${DEFAULT_PROXY.responseTimeoutMs / 1000}; 504)
  --https              serve HTTPS with a self-signed certificate (kept in
                       ~/.cache/porthole; its fingerprint is printed)
  --cert FILE          serve HTTPS with this PEM certificate (e.g. from mkcert) ...
  --key FILE           ... and this PEM private key; when it is encrypted, its passphrase
                       is read from the environment variable ${PASSPHRASE_ENV}
  --passphrase-file FILE  ... or from the first line of FILE (never from a flag value,
                       which ps and shell history would show)
  --qr                 print a QR code of the network URL (with --host 0.0.0.0)
  --workers N          serve from N processes sharing the port (default 1)
  --keep-alive-timeout S  close idle keep-alive connections after S seconds (default ${DEFAULT_TIMEOUTS.idleMs / 1000})
  --header-timeout S   a request head must arrive within S seconds (default ${DEFAULT_TIMEOUTS.headersMs / 1000}; 408)
  --quiet              print no line per request
  --open               open the page in the default browser
  -h, --help           show this help
  -v, --version        show the version
`;

export type TlsChoice =
  | { readonly kind: 'none' }
  | { readonly kind: 'self-signed' }
  | {
      readonly kind: 'files';
      readonly certPath: string;
      readonly keyPath: string;
      /** --passphrase-file, absolute; undefined: the environment (PASSPHRASE_ENV) or none. */
      readonly passphraseFile: string | undefined;
    };

export interface CliOptions {
  /** The host is always set (DEFAULT_HOST unless --host). */
  readonly server: ServerOptionsInput & { readonly host: string };
  readonly tls: TlsChoice;
  readonly quiet: boolean;
  readonly open: boolean;
  readonly qr: boolean;
  readonly workers: number;
}

export type ParsedArgs =
  | { readonly kind: 'run'; readonly options: CliOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'error'; readonly message: string };

function parsePort(text: string | undefined): { port: number | null } | { error: string } {
  if (text === undefined) return { port: DEFAULT_PORT };
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return { error: `--port takes a number from 0 to 65535, not "${text}"` };
  return { port: Number(text) };
}

export function parseCliArgs(argv: readonly string[], cwd: string): ParsedArgs {
  if (argv.some((a) => /^--(key-)?passphrase(=|$)/.test(a))) {
    return {
      kind: 'error',
      message: `a passphrase is never taken as a flag value (ps and shell history would show it): put it in a file and pass --passphrase-file FILE, or set ${PASSPHRASE_ENV}`,
    };
  }
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        log: { type: 'string' },
        'no-listing': { type: 'boolean' },
        dotfiles: { type: 'boolean' },
        'follow-symlinks': { type: 'boolean' },
        'allowed-host': { type: 'string', multiple: true },
        'allowed-client': { type: 'string', multiple: true },
        'no-host-names': { type: 'boolean' },
        'no-reload': { type: 'boolean' },
        'reload-ignore': { type: 'string', multiple: true },
        'reload-debounce': { type: 'string' },
        watch: { type: 'string', multiple: true },
        proxy: { type: 'string', multiple: true },
        'proxy-rewrite-host': { type: 'boolean' },
        'proxy-timeout': { type: 'string' },
        https: { type: 'boolean' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'passphrase-file': { type: 'string' },
        qr: { type: 'boolean' },
        workers: { type: 'string' },
        'keep-alive-timeout': { type: 'string' },
        'header-timeout': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        open: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }));
  } catch (err) {
    return { kind: 'error', message: (err as Error).message.replace(/\. To specify a positional.*$/s, '') };
  }
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  if (positionals.length > 1) return { kind: 'error', message: `one root folder only, got: ${positionals.join(' ')}` };
  const parsedPort = parsePort(values.port);
  if ('error' in parsedPort) return { kind: 'error', message: parsedPort.error };
  const port = parsedPort.port;
  const host = values.host ?? DEFAULT_HOST;
  if (host.length === 0) return { kind: 'error', message: '--host needs an address' };
  const debounce = values['reload-debounce'] ?? String(DEFAULT_RELOAD.debounceMs);
  if (!/^\d{1,5}$/.test(debounce) || Number(debounce) > 10_000) {
    return { kind: 'error', message: `--reload-debounce takes milliseconds from 0 to 10000, not "${debounce}"` };
  }
  const workersText = values.workers ?? '1';
  if (!/^\d{1,2}$/.test(workersText) || Number(workersText) < 1 || Number(workersText) > 64) {
    return { kind: 'error', message: `--workers takes a number from 1 to 64, not "${workersText}"` };
  }
  const seconds = (flag: string, text: string | undefined, fallbackMs: number): number | string => {
    if (text === undefined) return fallbackMs;
    if (!/^\d{1,4}(\.\d{1,3})?$/.test(text) || Number(text) <= 0) return `${flag} takes seconds above 0, not "${text}"`;
    return Math.round(Number(text) * 1000);
  };
  const idleMs = seconds('--keep-alive-timeout', values['keep-alive-timeout'], DEFAULT_TIMEOUTS.idleMs);
  if (typeof idleMs === 'string') return { kind: 'error', message: idleMs };
  const headersMs = seconds('--header-timeout', values['header-timeout'], DEFAULT_TIMEOUTS.headersMs);
  if (typeof headersMs === 'string') return { kind: 'error', message: headersMs };
  const responseTimeoutMs = seconds('--proxy-timeout', values['proxy-timeout'], DEFAULT_PROXY.responseTimeoutMs);
  if (typeof responseTimeoutMs === 'string') return { kind: 'error', message: responseTimeoutMs };
  const routes: ProxyRoute[] = [];
  for (const spec of values.proxy ?? []) {
    const route = parseProxySpec(spec);
    if (typeof route === 'string') return { kind: 'error', message: `--proxy: ${route}` };
    routes.push(route);
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    return { kind: 'error', message: '--cert and --key go together: give both PEM files' };
  }
  if (values.https === true && values.cert !== undefined) {
    return { kind: 'error', message: '--https makes its own certificate; leave it out when you give --cert and --key' };
  }
  const passphraseFile = values['passphrase-file'];
  if (passphraseFile !== undefined && values.key === undefined) {
    return { kind: 'error', message: '--passphrase-file is for an encrypted --key: give --cert and --key too' };
  }
  const tls: TlsChoice =
    values.cert !== undefined && values.key !== undefined
      ? {
          kind: 'files',
          certPath: resolve(cwd, values.cert),
          keyPath: resolve(cwd, values.key),
          passphraseFile: passphraseFile === undefined ? undefined : resolve(cwd, passphraseFile),
        }
      : values.https === true
        ? { kind: 'self-signed' }
        : { kind: 'none' };
  return {
    kind: 'run',
    options: {
      tls,
      qr: values.qr === true,
      workers: Number(workersText),
      server: {
        timeouts: { idleMs, headersMs },
        root: resolve(cwd, positionals[0] ?? '.'),
        port,
        host,
        logFile: values.log === undefined ? undefined : resolve(cwd, values.log),
        listing: values['no-listing'] !== true,
        dotfiles: values.dotfiles === true,
        followSymlinks: values['follow-symlinks'] === true,
        allowedHosts: values['allowed-host'] ?? [],
        allowedClients: values['allowed-client'] ?? [],
        resolveHostNames: values['no-host-names'] !== true,
        reload: {
          enabled: values['no-reload'] !== true,
          ignore: [...DEFAULT_RELOAD.ignore, ...(values['reload-ignore'] ?? [])],
          debounceMs: Number(debounce),
          watchPaths: (values.watch ?? []).map((p) => resolve(cwd, p)),
        },
        proxy: {
          routes,
          rewriteHost: values['proxy-rewrite-host'] === true,
          responseTimeoutMs,
        },
      },
      quiet: values.quiet === true,
      open: values.open === true,
    },
  };
}
