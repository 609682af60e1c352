/**
 * A port of a folder's own. Browsers keep service workers, localStorage, IndexedDB, caches and
 * cookies per origin (scheme, host, port: RFC 6454), so two folders previewed one after the other
 * on one port would see each other's state: project B would be served project A's service worker.
 * Each root therefore gets a port derived from its real path, the same on every start (bookmarks
 * stay valid), different for different folders (a clash is 1 in DERIVED_PORT_RANGE.count per pair).
 */
import { nodeCrypto } from '../node-crypto';
import { DERIVED_PORT_RANGE } from '../options';

/**
 * The port for the folder at `realPath` (an absolute path, symlinks resolved, e.g. by
 * fs.realpath): SHA-256 of its UTF-8 bytes, first four bytes as an unsigned integer, taken modulo
 * DERIVED_PORT_RANGE.count above DERIVED_PORT_RANGE.first. Pure; never throws.
 */
export function derivePort(realPath: string): number {
  const digest = nodeCrypto().createHash('sha256').update(realPath, 'utf8').digest();
  return DERIVED_PORT_RANGE.first + (digest.readUInt32BE(0) % DERIVED_PORT_RANGE.count);
}

/**
 * The ports to try, in order, for `attempt` tries from `start`: a derived port falls forward inside
 * its range (wrapping to its first port), so a busy one never leads outside it.
 */
export function derivedPortCandidates(start: number, attempts: number): number[] {
  const { first, count } = DERIVED_PORT_RANGE;
  return Array.from({ length: Math.min(attempts, count) }, (_, i) => first + ((start - first + i) % count));
}
