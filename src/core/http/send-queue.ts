/**
 * How many bytes of a TCP connection its client has not taken yet: written by the server, not yet
 * acknowledged by the client (Linux's `tx_queue` in /proc/net/tcp and /proc/net/tcp6, that is
 * write_seq − snd_una), and, for a client on this host, unread in its receive queue. Node shows
 * only what the kernel took from the process (`socket.bytesWritten − socket.writableLength`), and
 * the kernel takes more only once a third of its send buffer is free: with the buffer grown to
 * 4 MB (loopback), steady readers at 3–20 KB/s showed no progress for 30–40 s and the slow-reader
 * limit (1 KiB/s) cut them (2026-12-02).
 *
 * One read of the tables serves every connection for SNAPSHOT_MAX_AGE_MS (the rate check asks
 * for all connections with queued output at once). Elsewhere than Linux, or when /proc cannot be
 * read, the answer is `undefined` and callers go by what the kernel took.
 */
import { readFileSync } from 'node:fs';

/** A snapshot of the tables is reused for this long (ms). */
const SNAPSHOT_MAX_AGE_MS = 500;
const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
/** A socket's line: its addresses (as the table writes them) and its two queues. */
interface Line {
  readonly local: string;
  readonly remote: string;
  readonly txQueue: number;
  readonly rxQueue: number;
}
/** Two sockets with the same local and remote port (different addresses): not told apart. */
const AMBIGUOUS: Line = { local: '', remote: '', txQueue: -1, rxQueue: -1 };

let available = process.platform === 'linux';
let snapshot = new Map<number, Line>();
let snapshotAt = -Infinity;

/**
 * Bytes written on the connection between local port `localPort` and remote port `remotePort`
 * (in this network namespace) that its client has not taken yet: not yet acknowledged by the
 * peer's kernel, plus, when the client is a socket on this host (loopback), what waits unread in
 * its receive queue (a receiver on loopback announces more room only once 64 KiB or more is free,
 * so its acknowledgements can stand still for tens of seconds while it reads). Undefined when that
 * cannot be known: not Linux, /proc unreadable, no such socket, or two sockets with these two
 * ports. Listening and TIME-WAIT sockets are not considered. Cost: one read of /proc/net/tcp{,6}
 * per SNAPSHOT_MAX_AGE_MS, about 150 bytes per socket of the namespace.
 */
export function bytesNotYetTaken(localPort: number, remotePort: number): number | undefined {
  if (!fresh()) return undefined;
  const ours = snapshot.get(localPort * 65_536 + remotePort);
  if (ours === undefined || ours === AMBIGUOUS) return undefined;
  const peer = snapshot.get(remotePort * 65_536 + localPort);
  const local = peer !== undefined && peer !== AMBIGUOUS && peer.local === ours.remote && peer.remote === ours.local;
  return ours.txQueue + (local ? peer.rxQueue : 0);
}

/**
 * True when bytesNotYetTaken can answer here (Linux, /proc readable): checked by one read of the
 * tables on first use, then remembered. Costs nothing after the first call.
 */
export function clientProgressKnown(): boolean {
  return available && (snapshotAt !== -Infinity || fresh());
}

/** Reads the tables again when the snapshot is older than SNAPSHOT_MAX_AGE_MS; false: unavailable. */
function fresh(): boolean {
  if (!available) return false;
  const now = performance.now();
  if (now - snapshotAt <= SNAPSHOT_MAX_AGE_MS) return true;
  const next = readTables();
  if (next === undefined) {
    available = false;
    return false;
  }
  snapshot = next;
  snapshotAt = now;
  return true;
}

/**
 * The tables as a map from localPort × 65,536 + remotePort to the socket's line. Each line is
 * `sl local_address rem_address st tx_queue:rx_queue …`, addresses as `HEX:PORT` (hex).
 */
function readTables(): Map<number, Line> | undefined {
  const map = new Map<number, Line>();
  let read = 0;
  for (const table of TABLES) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue; // no IPv6 in this kernel, say
    }
    read++;
    for (const row of text.split('\n')) {
      const f = row.trim().split(/\s+/);
      if (f.length < 5 || f[0] === 'sl') continue;
      const state = f[3];
      if (state === '0A' || state === '06') continue; // LISTEN, TIME_WAIT
      const local = f[1]!;
      const remote = f[2]!;
      const queues = f[4]!;
      const colon = queues.indexOf(':');
      const localPort = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      const remotePort = parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16);
      const txQueue = parseInt(queues.slice(0, colon), 16);
      const rxQueue = parseInt(queues.slice(colon + 1), 16);
      if (![localPort, remotePort, txQueue, rxQueue].every(Number.isFinite)) continue;
      const key = localPort * 65_536 + remotePort;
      map.set(key, map.has(key) ? AMBIGUOUS : { local, remote, txQueue, rxQueue });
    }
  }
  return read > 0 ? map : undefined;
}
