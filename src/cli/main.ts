/**
 * The terminal entry: flags → options → PreviewServer. Prints `Local:` (and one `Network:` line
 * per interface when bound to every interface), then a line per request unless --quiet.
 * SIGINT/SIGTERM stop gracefully (log flushed) and exit 0; errors exit 1 in plain words.
 */
import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { PreviewServer, formatShortLine, parseCidr } from '../core';
import { USAGE, parseCliArgs, type CliOptions } from './args';

declare const PORTHOLE_VERSION: string | undefined;

function fail(message: string): never {
  process.stderr.write(`porthole: ${message}\n`);
  process.exit(1);
}

/** Every non-internal address, IPv4 first, link-local last. */
export function networkUrls(port: number, scheme: string): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      if (info.family === 'IPv4') v4.push(`${scheme}://${info.address}:${port}/`);
      else if (!info.address.startsWith('fe80:')) v6.push(`${scheme}://[${info.address}]:${port}/`);
    }
  }
  return [...v4, ...v6];
}

function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => process.stderr.write(`porthole: could not open a browser; open ${url} yourself\n`));
    child.unref();
  } catch {
    process.stderr.write(`porthole: could not open a browser; open ${url} yourself\n`);
  }
}

async function run(options: CliOptions): Promise<void> {
  for (const cidr of options.server.allowedClients ?? []) {
    try {
      parseCidr(cidr);
    } catch (err) {
      fail(`--allowed-client: ${(err as Error).message}`);
    }
  }
  const server = new PreviewServer();
  server.on('diagnostic', (level, message) => {
    if (level === 'warn' || level === 'error') process.stderr.write(`porthole: ${message}\n`);
  });
  let address;
  try {
    address = await server.listen(options.server);
  } catch (err) {
    fail((err as Error).message);
  }
  if (!options.quiet) server.addLineSink((r) => process.stdout.write(formatShortLine(r) + '\n'));
  const out: string[] = [];
  out.push(`Serving ${options.server.root}`);
  out.push(`Local: ${address.url}`);
  if (address.host === '0.0.0.0' || address.host === '::') {
    for (const url of networkUrls(address.port, address.url.split(':')[0] ?? 'http')) out.push(`Network: ${url}`);
  }
  if (options.server.logFile !== undefined) out.push(`Log: ${options.server.logFile}`);
  process.stdout.write(out.join('\n') + '\n');
  if (options.open) openBrowser(address.url);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`porthole: ${signal} again; exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (err: unknown) => fail(`stopping failed: ${String(err)}`),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

const parsed = parseCliArgs(process.argv.slice(2), process.cwd());
switch (parsed.kind) {
  case 'help':
    process.stdout.write(USAGE);
    break;
  case 'version':
    process.stdout.write(`${typeof PORTHOLE_VERSION === 'string' ? PORTHOLE_VERSION : 'dev'}\n`);
    break;
  case 'error':
    process.stderr.write(`porthole: ${parsed.message}\n\n${USAGE}`);
    process.exit(1);
    break;
  case 'run':
    run(parsed.options).catch((err: unknown) => fail(String(err)));
    break;
}
