/**
 * Protocol limits for the HTTP/1.1 core: the single place these numbers live. Every limit is a
 * byte or item count that a peer could otherwise grow without bound; exceeding one is answered
 * with the status named beside it and the connection is closed.
 *
 * Invariants: every value is a positive integer; the parser and body reader read limits only
 * from here or from a caller-supplied `ParserLimits` built from these defaults.
 */

/** A request head (request line + fields + blank line, leading empty lines included) → 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** Header field lines in one request head → 431. */
export const MAX_HEADER_FIELDS = 100;

/**
 * The request method → 501 (RFC 9112 §3: "A server that receives a method longer than any that it
 * implements SHOULD respond with a 501"), as soon as the method grows past it. Porthole implements
 * GET, HEAD and OPTIONS and a proxied route passes any method on, so the bound is a margin over the
 * longest method IANA's HTTP Method Registry holds (UPDATEREDIRECTREF, 17 characters): a method of
 * 20,000 letters was answered 431, whose words blame cookies.
 */
export const MAX_METHOD_BYTES = 32;

/** The request-target as sent → 414. */
export const MAX_TARGET_BYTES = 8 * 1024;

/**
 * Significant hex digits in one chunk-size (after its leading zeros) → 400. Sizes above
 * Number.MAX_SAFE_INTEGER are rejected as overflow (400) whatever the digit count.
 */
export const MAX_CHUNK_SIZE_DIGITS = 16;

/**
 * Chunk-extension bytes, and chunk sizes' leading zeros past the first, summed over one body (all
 * chunk lines) → 413: what a chunk line may carry beyond its size, bounded so that a client
 * cannot stream an endless line.
 */
export const MAX_CHUNK_EXTENSION_BYTES = 16 * 1024;

/** Trailer-section bytes of one chunked body (field lines and their CRLFs) → 431. */
export const MAX_TRAILER_BYTES = 16 * 1024;

/** The limits `parseRequestHead` enforces; tests and benchmarks may pass smaller ones. */
export interface ParserLimits {
  readonly maxHeadBytes: number;
  readonly maxHeaderFields: number;
  readonly maxTargetBytes: number;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = Object.freeze({
  maxHeadBytes: MAX_HEAD_BYTES,
  maxHeaderFields: MAX_HEADER_FIELDS,
  maxTargetBytes: MAX_TARGET_BYTES,
});
