/**
 * Flags → options. Pure: no I/O, so tests can feed it argv arrays. Errors are values with a plain
 * message ("unknown flag --prot"); invalid values are listed one per line with the flag, the value
 * and the reason, checked by the core's own rules.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CONFIG_FILE_NAME,
  DEFAULT_HOST,
  DEFAULT_PROXY,
  DEFAULT_SPA_FILE,
  DERIVED_PORT_RANGE,
  DEFAULT_RELOAD,
  DEFAULT_TIMEOUTS,
  OPTION_BOUNDS,
  parseProxySpec,
  parseMountSpec,
  checkServerOptions,
  logFileNameProblem,
  parseHeaderArgument,
  showValue,
  spaFileProblem,
  originProblem,
  nearestName,
  validateServerOptions,
  wholeNumberProblem,
  type OptionName,
  type Mount,
  type ProxyRoute,
  type RawServerOptions,
  type ServerOptionsInput,
} from '../core';

/** The environment variable the passphrase of an encrypted --key is read from. */
export const PASSPHRASE_ENV = 'PORTHOLE_KEY_PASSPHRASE';

/** The most processes --workers starts. */
export const MAX_WORKERS = 64;

export const USAGE = `Usage: porthole [root] [options]

Serves the folder [root] (default: the current folder) over HTTP, on raw
sockets. Options also come from ${CONFIG_FILE_NAME} in the root; flags
given here override it.

Options:
  -p, --port N         port to listen on (default: the folder's own port in
                       ${DERIVED_PORT_RANGE.first}–${DERIVED_PORT_RANGE.first + DERIVED_PORT_RANGE.count - 1}, derived from its path, the same on every
                       start; 0 = any free port; when busy, the next free one is
                       taken and said)
  --host ADDR          address to bind (default ${DEFAULT_HOST}; 0.0.0.0 shares on the
                       network)
  --log FILE           append a Combined Log Format line per request to FILE
  --no-listing         answer 404 for folders without index.html instead of
                       listing them
  --dotfiles           serve files and folders whose name starts with "."
  --follow-symlinks    serve symlinks that lead outside the root
  --no-compression     send files as they are on disk: no brotli/gzip on the
                       fly, no .br/.gz file chosen by Accept-Encoding
                       (game.wasm.br is still sent with Content-Encoding: br, or
                       decoded for clients without br)
  --allow-cross-site   let pages on other sites load these files as scripts,
                       images, styles or fetch() (default: refused with 403;
                       navigations always work)
  --allowed-host NAME  also answer to this Host name (repeatable; tunnels,
                       custom names)
  --allowed-client CIDR  only these clients (repeatable, e.g. 192.168.1.0/24);
                       loopback always
  --no-host-names      do not reverse-resolve client addresses for the log
  --no-reload          no live reload: pages are served exactly as they are on
                       disk
  --reload-ignore GLOB changes matching GLOB (relative to the root) never
                       reload pages (repeatable; always ignored:
                       ${DEFAULT_RELOAD.ignore.join(', ')},
                       the log file)
  --reload-debounce MS a change reloads pages at once; changes within the
                       next MS milliseconds make one more reload (default ${DEFAULT_RELOAD.debounceMs})
  --watch PATH         also reload pages when files under PATH change
                       (repeatable; a back-end's templates outside the root)
  --proxy PREFIX=URL   pass requests under PREFIX to a back-end, e.g.
                       /api=http://127.0.0.1:3000 (repeatable; longest prefix
                       wins; bodies, WebSockets and live reload in its HTML
                       pages included)
  --proxy-rewrite-host send the back-end its own host:port as Host (default:
                       the browser's)
  --proxy-timeout S    a back-end must start answering within S seconds (default
                       ${DEFAULT_PROXY.responseTimeoutMs / 1000}; 504)
  --https              serve HTTPS with a self-signed certificate (kept in
                       ~/.cache/porthole; its fingerprint is printed)
  --cert FILE          serve HTTPS with this PEM certificate (e.g. from mkcert)
                       ...
  --key FILE           ... and this PEM private key; when it is encrypted, its
                       passphrase is read from the environment variable
                       ${PASSPHRASE_ENV}
  --passphrase-file FILE  ... or from the first line of FILE (never from a flag
                       value, which ps and shell history would show)
  --header 'NAME: VALUE'  add this header to every answer (repeatable; per-path
                       headers: "headers" in ${CONFIG_FILE_NAME})
  --cross-origin-isolation  send COOP: same-origin and COEP: require-corp, so
                       pages are cross-origin isolated (SharedArrayBuffer)
  --cors               let other origins read answers
                       (Access-Control-Allow-Origin: *); off by default: any web
                       page could read this folder
  --cors-origin ORIGIN allow only this origin (repeatable; implies --cors)
  --spa[=FILE]         single-page app: navigations to missing paths get FILE
                       (default ${DEFAULT_SPA_FILE}); missing assets stay 404, also
                       opened in the address bar (/app.js, /data.json,
                       /logo.png)
  --mount PREFIX=DIR   also serve folder DIR under the URL path PREFIX, e.g.
                       /vendor=./node_modules/x (repeatable; DIR relative to the
                       current folder; longest prefix wins; every rule of the
                       root applies inside)
  --clean-urls         /about serves about.html when nothing named about exists;
                       /about.html redirects (301) to /about
  --console MODE       what pages send back of their console, printed here: off,
                       errors (console.error, uncaught errors, unhandled
                       rejections; the default) or all (also
                       console.warn/info/log/debug)
  --no-config          ignore ${CONFIG_FILE_NAME} in the root
  --qr                 print a QR code of the network URL (with --host 0.0.0.0)
  --workers N          serve from N processes sharing the port (1 to ${MAX_WORKERS},
                       default 1)
  --keep-alive-timeout S  close idle keep-alive connections after S seconds
                       (default ${DEFAULT_TIMEOUTS.idleMs / 1000})
  --header-timeout S   a request head must arrive within S seconds (default
                       ${DEFAULT_TIMEOUTS.headersMs / 1000}; 408)
  -q, --quiet          print no line per request
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
  /**
   * Only what the flags say: an option whose flag is absent is undefined, so the configuration
   * file (then the default) decides it (layerOptions).
   */
  readonly server: ServerOptionsInput;
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
  /** The command line could not be read (unknown flag, missing value): where to find the usage follows. */
  | { readonly kind: 'error'; readonly message: string }
  /** A value is invalid: one line per value, `--flag "value": reason`. */
  | { readonly kind: 'invalid'; readonly problems: readonly string[] };

/** The flag that sets each core option (for messages in the user's own words). */
const FLAG_OF: Partial<Record<OptionName, string>> = {
  root: 'the root folder',
  port: '--port',
  host: '--host',
  logFile: '--log',
  allowedHosts: '--allowed-host',
  allowedClients: '--allowed-client',
  'reload.ignore': '--reload-ignore',
  'reload.debounceMs': '--reload-debounce',
  'timeouts.idleMs': '--keep-alive-timeout',
  'timeouts.headersMs': '--header-timeout',
  'reload.watchPaths': '--watch',
  'proxy.routes': '--proxy',
  'proxy.responseTimeoutMs': '--proxy-timeout',
  mounts: '--mount',
  cleanUrls: '--clean-urls',
  consoleForward: '--console',
};

/** Seconds as the timeout flags take them: digits with up to three decimals (`5`, `0.5`). */
function secondsToMs(text: string): number | undefined {
  return /^\d{1,7}(\.\d{1,3})?$/.test(text) ? Math.round(Number(text) * 1000) : undefined;
}

/** The flags that take a number: a negative one given as its own word (`--port -1`) is joined to its flag. */
const NUMBER_FLAGS = new Set(['--port', '-p', '--reload-debounce', '--workers', '--proxy-timeout', '--keep-alive-timeout', '--header-timeout']);

/**
 * `--port -1` as `--port=-1`: Node's parseArgs takes a value starting with `-` for an option of its
 * own and refuses it as "ambiguous", advising the `=` form for a value that is invalid anyway;
 * joined, the value is judged like any other (`--port "-1": is not a whole number from 0 to 65535`).
 */
function joinNegativeNumbers(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (NUMBER_FLAGS.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg === '-p' ? '--port' : arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
    // After `--`, every word is a positional.
    if (arg === '--') {
      out.push(...argv.slice(i + 1));
      break;
    }
  }
  return out;
}

/** The flags parseArgs knows (`spa-default` is a bare `--spa`, renamed before parsing). */
const CLI_OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  log: { type: 'string' },
  'no-listing': { type: 'boolean' },
  dotfiles: { type: 'boolean' },
  'follow-symlinks': { type: 'boolean' },
  'no-compression': { type: 'boolean' },
  'allow-cross-site': { type: 'boolean' },
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
  header: { type: 'string', multiple: true },
  'cross-origin-isolation': { type: 'boolean' },
  cors: { type: 'boolean' },
  'cors-origin': { type: 'string', multiple: true },
  spa: { type: 'string' },
  'spa-default': { type: 'boolean' },
  mount: { type: 'string', multiple: true },
  'clean-urls': { type: 'boolean' },
  'no-config': { type: 'boolean' },
  console: { type: 'string' },
  qr: { type: 'boolean' },
  workers: { type: 'string' },
  'keep-alive-timeout': { type: 'string' },
  'header-timeout': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  open: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string; readonly multiple?: boolean }>;

/**
 * The first flag that takes one value given more than once (`-p 9752 -p 9753`, `--log a.log --log
 * b.log`), as an error naming it and both values; undefined when there is none. parseArgs keeps
 * the last and drops the others without a word: the server listened on a port, or logged to a
 * file, other than the one the user saw first (helper-172). Refused, as a key given twice in
 * porthole.config.json is. Flags that take several values (`--proxy`, `--header`…) and flags
 * without one (`--quiet -q`: the same thing twice) are not.
 */
function repeatedValueFlag(tokens: ReadonlyArray<{ kind: string; name?: string; rawName?: string; value?: string | undefined }>): string | undefined {
  const seen = new Map<string, { rawName: string; value: string | undefined }>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined || token.rawName === undefined) continue;
    const option: { type: string; multiple?: boolean } = CLI_OPTIONS[token.name as keyof typeof CLI_OPTIONS];
    if (option.type !== 'string' || option.multiple === true) continue;
    const first = seen.get(token.name);
    if (first === undefined) {
      seen.set(token.name, { rawName: token.rawName, value: token.value });
      continue;
    }
    const flag = `--${token.name}`;
    return `${flag} was given twice (${first.rawName} ${showValue(first.value)}, then ${token.rawName} ${showValue(token.value)}): give ${flag} once`;
  }
  return undefined;
}

/** The long flags a user may type (`spa-default` is only the renamed bare `--spa`). */
const LONG_FLAGS: readonly string[] = Object.keys(CLI_OPTIONS).filter((name) => name !== 'spa-default');

/**
 * argv → options. Every value is checked strictly, by the core's rules (checkServerOptions) for
 * the server's options and here for the CLI's own (--workers, the seconds of the timeouts,
 * --cert/--key): an invalid value is never replaced by a default, it is reported with the flag,
 * the value and the reason (`kind: 'invalid'`), and the CLI exits 1.
 */
export function parseCliArgs(argv: readonly string[], cwd: string): ParsedArgs {
  if (argv.some((a) => /^--(key-)?passphrase(=|$)/.test(a))) {
    return {
      kind: 'error',
      message: `a passphrase is never taken as a flag value (ps and shell history would show it): put it in a file and pass --passphrase-file FILE, or set ${PASSPHRASE_ENV}`,
    };
  }
  const dashHint = singleDashHint(argv);
  if (dashHint !== undefined) return { kind: 'error', message: dashHint };
  let values;
  let positionals;
  let tokens;
  try {
    ({ values, positionals, tokens } = parseArgs({
      // `--spa` alone takes no value (the root would be taken for it): it becomes --spa-default.
      args: joinNegativeNumbers(argv).map((a) => (a === '--spa' ? '--spa-default' : a)),
      allowPositionals: true,
      strict: true,
      options: CLI_OPTIONS,
      tokens: true,
    }));
  } catch (err) {
    return { kind: 'error', message: flagErrorMessage((err as Error).message, argv) };
  }
  const repeated = repeatedValueFlag(tokens);
  if (repeated !== undefined) return { kind: 'error', message: repeated };
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  const spaHint = bareSpaFileHint(argv);
  if (spaHint !== undefined) return { kind: 'error', message: spaHint };
  if (positionals.length > 1) return { kind: 'error', message: `one root folder only, got: ${positionals.join(' ')}` };

  const problems: string[] = [];
  const refuse = (flag: string, value: unknown, reason: string): void => {
    problems.push(`${flag} ${showValue(value)}: ${reason}`);
  };
  const workersText = values.workers ?? '1';
  const workersProblem = wholeNumberProblem(workersText, 1, MAX_WORKERS);
  if (workersProblem !== undefined) refuse('--workers', workersText, workersProblem);
  const seconds = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const ms = secondsToMs(text);
    if (ms === undefined) refuse(flag, text, 'takes seconds: digits with up to three decimals (e.g. 5 or 0.5)');
    return ms;
  };
  const idleMs = seconds('--keep-alive-timeout', values['keep-alive-timeout']);
  const headersMs = seconds('--header-timeout', values['header-timeout']);
  const logProblem = values.log === undefined ? undefined : logFileNameProblem(values.log);
  if (logProblem !== undefined) refuse('--log', values.log, logProblem);
  for (const [flag, value] of [['--cert', values.cert], ['--key', values.key]] as const) {
    if (value === '') refuse(flag, value, 'is empty: give the path of a PEM file');
  }
  const responseTimeoutMs = seconds('--proxy-timeout', values['proxy-timeout']);
  const routes: ProxyRoute[] = [];
  for (const spec of values.proxy ?? []) {
    const route = parseProxySpec(spec);
    if (typeof route === 'string') refuse('--proxy', spec, route);
    else routes.push(route);
  }
  // Folders on the command line are the shell's: relative to the current folder (as --watch, --log).
  const mounts: Mount[] = [];
  for (const spec of values.mount ?? []) {
    const mount = parseMountSpec(spec);
    if (typeof mount === 'string') refuse('--mount', spec, mount);
    else mounts.push({ prefix: mount.prefix, folder: resolve(cwd, mount.folder) });
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    problems.push('--cert and --key go together: give both PEM files');
  }
  const passphraseFile = values['passphrase-file'];
  if (passphraseFile !== undefined && values.key === undefined) {
    problems.push('--passphrase-file is for an encrypted --key: give --cert and --key too');
  }
  const headers: Record<string, string> = {};
  const headerNames = new Map<string, string>();
  for (const text of values.header ?? []) {
    const parsed = parseHeaderArgument(text);
    if ('error' in parsed) {
      problems.push(`--header: ${parsed.error}`);
      continue;
    }
    // One field per name: a second `--header` of a name replaced the first without a word (`Set-Cookie: a=1` then `b=2`; helper-176).
    const earlier = headerNames.get(parsed.name.toLowerCase());
    if (earlier !== undefined) problems.push(`--header: ${showValue(earlier)} and ${showValue(text)} name one field (header names are case-insensitive); give each header once`);
    headerNames.set(parsed.name.toLowerCase(), text);
    headers[parsed.name] = parsed.value;
  }
  const corsOrigins = values['cors-origin'] ?? [];
  for (const origin of corsOrigins) {
    // The core's own check (the config file's and the editor's too), so one value means one thing.
    if (originProblem(origin) !== undefined) {
      problems.push(`--cors-origin takes an origin such as http://localhost:5173 (scheme, host, port; no path or user name), not ${showValue(origin)}`);
    }
  }
  if (values.spa !== undefined && values['spa-default'] === true) problems.push('give --spa once');
  const spa = values['spa-default'] === true ? DEFAULT_SPA_FILE : values.spa;
  if (spa !== undefined) {
    const problem = spaFileProblem(spa);
    if (problem !== undefined) problems.push(`--spa: ${problem}`);
  }
  const cors = values.cors === true || corsOrigins.length > 0 ? { enabled: true, origins: corsOrigins } : undefined;
  if (values['no-reload'] === true) {
    // Each of these acts through live reload only: with --no-reload it would be taken and do nothing.
    const idle = [
      values.watch !== undefined ? '--watch' : undefined,
      values['reload-ignore'] !== undefined ? '--reload-ignore' : undefined,
      values['reload-debounce'] !== undefined ? '--reload-debounce' : undefined,
      values.console === 'errors' || values.console === 'all' ? `--console ${values.console}` : undefined,
    ].filter((flag) => flag !== undefined);
    for (const flag of idle) {
      problems.push(`${flag} does nothing with --no-reload (it works through live reload, which --no-reload turns off); leave one of them out`);
    }
  }
  if (values.https === true && values.cert !== undefined) {
    problems.push('--https makes its own certificate; leave it out when you give --cert and --key');
  }
  const path = (text: string | undefined): string | undefined => (text === undefined ? undefined : text === '' ? '' : resolve(cwd, text));
  // A flag not given leaves its option undefined: the configuration file (then the default)
  // decides it. PreviewServer validates the layered result again.
  const raw: RawServerOptions = {
    root: positionals[0] === '' ? '' : resolve(cwd, positionals[0] ?? '.'),
    port: values.port,
    host: values.host,
    logFile: path(values.log),
    listing: values['no-listing'] === true ? false : undefined,
    dotfiles: values.dotfiles === true ? true : undefined,
    followSymlinks: values['follow-symlinks'] === true ? true : undefined,
    crossSiteLoads: values['allow-cross-site'] === true ? true : undefined,
    allowedHosts: values['allowed-host'],
    allowedClients: values['allowed-client'],
    resolveHostNames: values['no-host-names'] === true ? false : undefined,
    timeouts: { idleMs, headersMs },
    reload: {
      enabled: values['no-reload'] === true ? false : undefined,
      ignore: values['reload-ignore'] === undefined ? undefined : [...DEFAULT_RELOAD.ignore, ...values['reload-ignore']],
      debounceMs: values['reload-debounce'],
      watchPaths: values.watch === undefined ? undefined : values.watch.map((p) => (p === '' ? '' : resolve(cwd, p))),
    },
    proxy: {
      routes: values.proxy === undefined ? undefined : routes,
      rewriteHost: values['proxy-rewrite-host'] === true ? true : undefined,
      responseTimeoutMs,
    },
    headers: Object.keys(headers).length === 0 ? undefined : [{ source: '**', headers }],
    crossOriginIsolation: values['cross-origin-isolation'] === true ? true : undefined,
    compression: values['no-compression'] === true ? false : undefined,
    cors,
    spa,
    mounts: values.mount === undefined ? undefined : mounts,
    cleanUrls: values['clean-urls'] === true ? true : undefined,
    configFile: values['no-config'] === true ? false : undefined,
    consoleForward: values.console,
  };
  const shownText: Partial<Record<OptionName, string | undefined>> = {
    'timeouts.idleMs': values['keep-alive-timeout'],
    'timeouts.headersMs': values['header-timeout'],
    'proxy.responseTimeoutMs': values['proxy-timeout'],
  };
  // --header, --cors-origin and --spa were checked above, in the flags' own words.
  const ownWords = new Set<string>(['headers', 'cors.origins', 'spa']);
  for (const p of checkServerOptions(raw)) {
    if (ownWords.has(p.option)) continue;
    const flag = FLAG_OF[p.option] ?? p.option;
    if (p.option === 'timeouts.idleMs' || p.option === 'timeouts.headersMs' || p.option === 'proxy.responseTimeoutMs') {
      const max = OPTION_BOUNDS.timeout.max / 1000;
      refuse(flag, shownText[p.option], `must be more than 0 and at most ${max} seconds`);
    } else {
      problems.push(`${flag} ${p.value}: ${p.reason}`);
    }
  }
  if (problems.length > 0) return { kind: 'invalid', problems };

  const server = validateServerOptions(raw);
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
      server,
      quiet: values.quiet === true,
      open: values.open === true,
    },
  };
}

/** The option a one-letter flag (`p` of `-p`) stands for: its long name and its definition. */
function optionOfShort(letter: string): [string, { type: string }] | undefined {
  return Object.entries(CLI_OPTIONS).find(([, o]) => 'short' in o && o.short === letter);
}

/**
 * Node's parseArgs message in the words of `--help`: no short alias the help does not list
 * (helper-49: `--port` alone said "Option '-p, --port <value>' argument missing"), and what to
 * write instead of "argument missing".
 */
function flagErrorMessage(message: string, argv: readonly string[]): string {
  const text = message.replace(/\. To specify a positional.*$/s, '');
  // `-weird`: parseArgs names its first letter alone ("Unknown option '-w'"), a flag never typed.
  const letter = /^Unknown option '-(\w)'$/.exec(text)?.[1];
  const word = letter === undefined ? undefined : argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).find((a) => a.startsWith(`-${letter}`) && a.length > 2);
  if (word !== undefined) return `${text} (in ${word}: one dash takes one-letter options, -p, -q, -h, -v; long options take two dashes)`;
  const unknown = /^Unknown option '--([^'=]+)'$/.exec(text);
  if (unknown !== null) {
    const near = nearestName(unknown[1] ?? '', LONG_FLAGS);
    return `${text}${near === undefined ? '' : ` (did you mean --${near}?)`}`;
  }
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing$/.exec(text);
  if (missing !== null) return `${missing[1]} needs a value: ${missing[1]} VALUE (see --help)`;
  // `--log --quiet`: parseArgs takes the next word, an option, for no value and calls it
  // "ambiguous", advising `--log=-XYZ` (helper-138: `--reload-ignore --port 9417`). Said as a
  // missing value, as above, with the word that followed.
  const ambiguous = /^Option '(?:-(\w)(?:, )?)?(?:--([\w-]+))?' argument is ambiguous\./.exec(text);
  const short = ambiguous?.[1];
  const long = ambiguous?.[2] ?? (short === undefined ? undefined : optionOfShort(short)?.[0]);
  if (long !== undefined) {
    const flag = `--${long}`;
    // The occurrence parseArgs refused: the flag followed by a word that starts with a dash.
    const at = argv.findIndex((a, i) => (a === flag || (short !== undefined && a === `-${short}`)) && argv[i + 1]?.startsWith('-') === true);
    const next = at >= 0 ? argv[at + 1] : undefined;
    const after = next === undefined ? '' : `; the word after it, ${showValue(next)}, is read as an option (a value that starts with a dash is written ${flag}=VALUE)`;
    return `${flag} needs a value: ${flag} VALUE (see --help)${after}`;
  }
  return text.replace(/^Option '-\w, (--[\w-]+)/, "Option '$1");
}

/**
 * A long flag written with one dash (`-port 9000`, `-quiet`, `-host=…`): parseArgs reads it as
 * one-letter options, and the user was told of flags never typed (`-quiet`: "Unknown option
 * '-u'"; `-host`: "Unknown option '-o'") or, for `-port 9000` (`-p` with the value "ort"), "one
 * root folder only, got: site 9000". Says to write two dashes; undefined when no word is such.
 * Values of flags (`--header -quiet`) and words after `--` are not judged.
 */
function singleDashHint(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--') return undefined;
    const long = /^--([^=]+)$/.exec(word)?.[1];
    const short = /^-([a-z])$/.exec(word)?.[1];
    const takesValue =
      (long !== undefined && (CLI_OPTIONS as Record<string, { type: string }>)[long]?.type === 'string') ||
      (short !== undefined && optionOfShort(short)?.[1].type === 'string');
    if (takesValue) {
      i++;
      continue;
    }
    const name = /^-([a-z][a-z-]+)(?:=.*)?$/s.exec(word)?.[1];
    if (name !== undefined && LONG_FLAGS.includes(name)) return `${word}: a long option takes two dashes: write --${word.slice(1)}`;
    // `-p=9770`: parseArgs takes "=9770" for -p's value, and the error was about that value
    // (helper-164). A one-letter option's value follows a space; `=` joins a long option's.
    const joined = /^-([a-z])=(.*)$/s.exec(word);
    const option = joined === null ? undefined : optionOfShort(joined[1] ?? '');
    if (joined !== null && option !== undefined) {
      const value = joined[2] ?? '';
      // `-q=1` was "Unknown option '-='".
      if (option[1].type !== 'string') return `${showValue(word)}: -${joined[1]} (--${option[0]}) takes no value: write -${joined[1]}`;
      // Said so that it can be copied: quoted for a shell when it holds more than plain characters
      // (`-p='9770 --open'` said `write -p 9770 --open`, a flag of its own once pasted).
      const shown = value === '' ? 'VALUE' : /^[\w.,:/@%+=-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
      return `${showValue(word)}: a one-letter option takes its value after a space: write -${joined[1]} ${shown} (or --${option[0]}=${shown})`;
    }
  }
  return undefined;
}

/**
 * When a bare `--spa` is followed by what looks like its file (`--spa index.html`): that word
 * was taken as the root folder (a bare --spa takes no value, so that `porthole --spa site` serves
 * site/), and the start failed with "the root folder …/index.html does not exist" (helper-49).
 * Says to write `--spa=FILE`.
 */
function bareSpaFileHint(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--spa');
  const next = at >= 0 ? argv[at + 1] : undefined;
  if (next === undefined || next.startsWith('-') || !/\.html?$/i.test(next)) return undefined;
  return `--spa ${next}: a bare --spa takes no value (it means index.html), so "${next}" would be taken for the root folder; write --spa=${next}`;
}
