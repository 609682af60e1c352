/**
 * A raw-socket HTTP/1.1 test client: bytes in, parsed responses out. No `http` module anywhere.
 *
 * - `RawClient.connect(port)` opens a loopback `net` socket; `write` sends bytes (optionally split
 *   into pieces, each its own write and its own event-loop turn). `tlsGetStatus` is one GET over TLS.
 * - `readResponse()` parses the next response from what has arrived: status line, headers, and a
 *   body framed by Content-Length, or by EOF when there is none (`Connection: close`). HEAD, 1xx,
 *   204 and 304 responses have no body. Pipelined responses are read one call at a time.
 * - Every wait is bounded (a timeout rejects) and resolves on events, never on sleeps.
 *
 * Received bytes are kept as a list of chunks and joined only when a whole response is there, so
 * a 10 MiB body costs one copy, not a quadratic number of them.
 */
import { connect, createServer, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

export const DEFAULT_WAIT_MS = 5_000;

export interface RawResponse {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  /** Names lower-cased, in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The raw head (status line to blank line), latin1. */
  readonly headText: string;
  readonly body: Buffer;
  /** The first value of a header (name case-insensitive). */
  header(name: string): string | undefined;
  /** Every value of a header. */
  headerAll(name: string): string[];
}

export interface ReadOptions {
  /** The request was HEAD: no body whatever the headers say. */
  readonly head?: boolean;
  readonly timeoutMs?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

export class RawClient {
  private chunks: Buffer[] = [];
  private length = 0;
  private eof = false;
  private closedFlag = false;
  private waiters: Array<() => void> = [];
  /** Every byte ever received (for "the secret never appears" checks). */
  readonly transcript: Buffer[] = [];
  private keepTranscript = true;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      if (this.keepTranscript) this.transcript.push(chunk);
      this.wake();
    });
    socket.on('end', () => {
      this.eof = true;
      this.wake();
    });
    socket.on('close', () => {
      this.eof = true;
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** `localAddress`: the loopback address to connect from (e.g. 127.0.0.2 to be another client). */
  static connect(port: number, host = '127.0.0.1', timeoutMs = DEFAULT_WAIT_MS, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Stops keeping a transcript (big downloads). */
  noTranscript(): void {
    this.keepTranscript = false;
    this.transcript.length = 0;
  }

  /** Every byte received so far, as latin1 text. */
  transcriptText(): string {
    return Buffer.concat(this.transcript).toString('latin1');
  }

  get ended(): boolean {
    return this.eof;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Bytes received and not yet consumed by readResponse/readRaw. */
  get buffered(): number {
    return this.length;
  }

  /** Writes bytes; resolves when they were handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Writes bytes in pieces of `pieceSize`, each its own write, one event-loop turn apart. */
  async writePieces(data: string | Buffer, pieceSize: number): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (let i = 0; i < bytes.length; i += pieceSize) {
      await this.write(bytes.subarray(i, i + pieceSize));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `ready()` is true; rejects after `timeoutMs` or when EOF makes it impossible. */
  private waitFor(ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.length} bytes buffered)`));
      }, timeoutMs);
      const check = (): void => {
        if (ready()) {
          clearTimeout(timer);
          resolve();
        } else if (this.eof) {
          clearTimeout(timer);
          reject(new Error(`connection ended while waiting for ${what} (${this.length} bytes buffered)`));
        } else {
          this.waiters.push(check);
        }
      };
      this.waiters.push(check);
    });
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const all = this.joined();
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  private headEnd(): number {
    if (this.length === 0) return -1;
    const i = this.joined().indexOf(CRLFCRLF);
    return i < 0 ? -1 : i + 4;
  }

  /** The next response. Rejects on timeout, or when the connection ends before it is complete. */
  async readResponse(options: ReadOptions = {}): Promise<RawResponse> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + timeoutMs;
    let end = -1;
    await this.waitFor(() => (end = this.headEnd()) >= 0, 'a response head', timeoutMs);
    const headText = this.take(end).toString('latin1');
    const lines = headText.slice(0, -4).split('\r\n');
    const statusLine = lines[0] ?? '';
    const m = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(statusLine);
    if (m === null) throw new Error(`malformed status line: ${JSON.stringify(statusLine)}`);
    const headers: Array<[string, string]> = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
      headers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const status = Number(m[2]);
    const header = (name: string): string | undefined => headers.find(([n]) => n === name.toLowerCase())?.[1];
    const headerAll = (name: string): string[] => headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
    const noBody = options.head === true || (status >= 100 && status < 200) || status === 204 || status === 304;
    let body: Buffer = Buffer.alloc(0);
    if (!noBody) {
      const cl = header('content-length');
      const left = Math.max(1, deadline - Date.now());
      if (cl !== undefined) {
        const n = Number(cl);
        if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad Content-Length ${cl}`);
        await this.waitFor(() => this.length >= n, `a body of ${n} bytes`, left);
        body = this.take(n);
      } else {
        await this.waitForEof(left);
        body = this.take(this.length);
      }
    }
    return {
      version: m[1] ?? '',
      status,
      reason: m[3] ?? '',
      headers,
      headText,
      body,
      header,
      headerAll,
    };
  }

  /** Reads `n` responses in order (pipelining); `heads[i]` marks the ones answering a HEAD. */
  async readResponses(n: number, heads: readonly boolean[] = [], timeoutMs = DEFAULT_WAIT_MS): Promise<RawResponse[]> {
    const out: RawResponse[] = [];
    for (let i = 0; i < n; i++) out.push(await this.readResponse({ head: heads[i] === true, timeoutMs }));
    return out;
  }

  /** Waits for EOF (the server ended or closed the connection). */
  waitForEof(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (this.eof) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for EOF`));
      }, timeoutMs);
      const check = (): void => {
        if (this.eof) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      this.waiters.push(check);
    });
  }

  /** Waits for `n` unread bytes and takes them. */
  async readBytes(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    await this.waitFor(() => this.length >= n, `${n} bytes`, timeoutMs);
    return this.take(n);
  }

  /** Waits until at least `n` unread bytes are buffered. */
  waitForBytes(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.waitFor(() => this.length >= n, `${n} bytes`, timeoutMs);
  }
}

/** Resolves when the socket has closed; rejects after `timeoutMs`. */
export function waitForClose(socket: Socket, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket did not close within ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Rejects with a clear message if `promise` does not settle within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A GET (or other method) request with Host and optional extra header lines. */
export function request(target: string, opts: { method?: string; host?: string; headers?: readonly string[]; version?: string } = {}): string {
  const lines = [`${opts.method ?? 'GET'} ${target} HTTP/${opts.version ?? '1.1'}`];
  if (opts.host !== '') lines.push(`Host: ${opts.host ?? '127.0.0.1'}`);
  for (const h of opts.headers ?? []) lines.push(h);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** One request on a fresh connection: write, read one response, close. */
export async function fetchOnce(port: number, raw: string | Buffer, options: ReadOptions = {}): Promise<RawResponse> {
  const client = await RawClient.connect(port);
  try {
    await client.write(raw);
    return await client.readResponse(options);
  } finally {
    client.destroy();
  }
}

/** One request on a fresh connection, returning the response and every byte received until EOF. */
export async function fetchWithTranscript(
  port: number,
  raw: string | Buffer,
  options: ReadOptions = {},
): Promise<{ response: RawResponse; transcript: string }> {
  const client = await RawClient.connect(port);
  try {
    await client.write(raw);
    const response = await client.readResponse(options);
    return { response, transcript: client.transcriptText() };
  } finally {
    client.destroy();
  }
}

/** A loopback port free now (bound, then closed): for a server given a fixed port, or nothing at all. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address !== 'object') throw new Error('no port from a loopback listen');
  return address.port;
}

/**
 * `count` connections that each send `requestFor(i)` and then never read (paused, no transcript):
 * the slow readers of the limits' tests. On a failure the ones made are closed and it rejects.
 */
export async function unreadClients(port: number, count: number, requestFor: (i: number) => string): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const client = await RawClient.connect(port);
      clients.push(client);
      client.noTranscript();
      client.socket.pause();
      await client.write(requestFor(i));
    }
  } catch (err) {
    for (const client of clients) client.destroy();
    throw err;
  }
  return clients;
}

/**
 * `GET path` over real TLS to 127.0.0.1:`port` (`ca`: the server's certificate, PEM, trusted for
 * the name `localhost`), `Connection: close`; resolves with the status code (0 when none came),
 * rejects on a TLS error or after 5 s.
 */
export function tlsGetStatus(port: number, ca: string, path = '/hello.txt'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connectTls({ port, host: '127.0.0.1', ca, servername: 'localhost' }, () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (t: string) => (text += t));
    s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    s.on('error', reject);
    setTimeout(() => {
      s.destroy();
      reject(new Error('TLS GET timed out'));
    }, DEFAULT_WAIT_MS).unref();
  });
}
