/**
 * The WebSocket protocol (RFC 6455) on our own sockets: the opening handshake's checks and answer
 * (§4.2), and the framing (§5) — a reader for the client's frames and an encoder for ours.
 * Only what a server needs: no extensions (RSV bits must be 0, no permessage-deflate), no
 * subprotocols. Live reload uses it for its channel to the pages (Connection.upgrade hands the
 * socket over after the 101).
 *
 * Invariants: client frames must be masked and server frames never are (§5.1); control frames are
 * at most 125 bytes and never fragmented (§5.5); a length is in the fewest bytes that hold it
 * (§5.2); a message (all its fragments) is at most
 * `maxMessageBytes`; text messages must be valid UTF-8 (§8.1). Any violation is a `fail` with the
 * close code the RFC names (§7.4.1), after which the reader reads nothing more.
 */
import { nodeCrypto } from '../node-crypto';
import type { HeaderList } from './request-record';
import { InputStore } from './input-store';

/** RFC 6455 §1.3: appended to the client's key before hashing. */
const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The only version this server speaks (RFC 6455 §4.1, §11.6). */
export const WEBSOCKET_VERSION = '13';
/** A client message (all fragments) above this closes the connection with 1009. */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 64 * 1024;

/** Frame opcodes (RFC 6455 §5.2, §11.8). */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Close codes of RFC 6455 §7.4.1 that this server sends. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  TooBig: 1009,
} as const;

/**
 * True for a status code an endpoint may send in a Close frame (RFC 6455 §7.4.1, §7.4.2):
 * 1000–1003 and 1007–1014 (§7.4.1, and 1012–1014 as registered with IANA, §11.7), and 3000–4999
 * (registered libraries and private use). Never 0–999, 1004 (reserved), 1005, 1006, 1015 (only
 * for reporting, never on the wire), 1016–2999 (reserved for the RFC's own future use) or 5000+.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2 item 5.4). */
export function acceptKey(key: string): string {
  return nodeCrypto().createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
}

export type HandshakeCheck =
  | { readonly kind: 'ok'; readonly key: string }
  | { readonly kind: 'refuse'; readonly status: number; readonly message: string; readonly headers: HeaderList };

function hasToken(value: string, token: string): boolean {
  return value.split(',').some((t) => t.trim().toLowerCase() === token);
}

/**
 * Reads a request's fields for the handshake: every value of a field, in the order its lines came
 * (names lower-case). A field sent on several lines is one comma-separated list (RFC 9110 §5.3),
 * so each check sees all of its lines, never just the first.
 */
export type FieldValues = (name: string) => readonly string[];

/**
 * Checks an opening handshake (RFC 6455 §4.2.1): GET over HTTP/1.1, `Upgrade` listing
 * `websocket`, `Connection` listing `upgrade`, exactly one `Sec-WebSocket-Key` (§11.3.1: it MUST
 * NOT appear more than once) that is 16 bytes in base64, and `Sec-WebSocket-Version: 13` (§4.2.1
 * item 6: one value, 13). List fields are read as RFC 9110 §5.3 combines their lines (joined with
 * ", "), so a field on several lines gets the same answer as on one comma-joined line: versions
 * `13` and `8` on two lines are the list `13, 8`, refused like it. Refusals: 426 (not a WebSocket
 * request, or another version, with `Sec-WebSocket-Version: 13` so the client knows which to use)
 * or 400 (a missing, malformed or repeated key).
 */
export function checkHandshake(method: string, version: string, fields: FieldValues): HandshakeCheck {
  // RFC 9110 §7.8: whoever sends Upgrade names it in Connection too (so no intermediary passes it
  // on); the connection's own `close` joins this field (Connection: Upgrade, close).
  const upgradeRequired: HeaderList = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Version', WEBSOCKET_VERSION],
  ];
  const joined = (name: string): string => fields(name).join(', ');
  if (method !== 'GET' || version !== '1.1' || !hasToken(joined('upgrade'), 'websocket') || !hasToken(joined('connection'), 'upgrade')) {
    return {
      kind: 'refuse',
      status: 426,
      message: 'This endpoint speaks WebSocket only: send a GET over HTTP/1.1 with Upgrade: websocket and Connection: Upgrade.',
      headers: upgradeRequired,
    };
  }
  // The handshake is a GET whose 101 switches the connection at once (RFC 6455 §4.1): a body
  // declared with it would arrive after the switch and be read as frames (helper-175: with
  // `Expect: 100-continue` the body came after the 101, and one shaped as a masked frame was taken
  // for the page's message). The refusal closes the connection, body and all.
  const length = joined('content-length').trim();
  if ((length !== '' && !/^0+$/.test(length)) || fields('transfer-encoding').length > 0) {
    return { kind: 'refuse', status: 400, message: 'A WebSocket opening handshake carries no body; send it without Content-Length or Transfer-Encoding.', headers: [] };
  }
  if (joined('sec-websocket-version').trim() !== WEBSOCKET_VERSION) {
    return { kind: 'refuse', status: 426, message: 'Only WebSocket version 13 is supported.', headers: upgradeRequired };
  }
  const keys = fields('sec-websocket-key');
  if (keys.length > 1) {
    return { kind: 'refuse', status: 400, message: 'Sec-WebSocket-Key must appear once.', headers: [] };
  }
  const key = keys[0]?.trim() ?? '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return { kind: 'refuse', status: 400, message: 'Sec-WebSocket-Key must be 16 bytes in base64.', headers: [] };
  }
  return { kind: 'ok', key };
}

/** One server frame, FIN set, unmasked (RFC 6455 §5.2). Control payloads must be ≤ 125 bytes. */
export function encodeFrame(opcode: Opcode, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const length = body.length;
  let head: Buffer;
  if (length < 126) {
    head = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    head = Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([head, body]);
}

/**
 * A Close frame's payload: the code, then a UTF-8 reason trimmed to fit 125 bytes at a character
 * boundary (a peer fails a reason that is not UTF-8 with 1007, RFC 6455 §5.5.1, §8.1).
 */
export function closePayload(code: number, reason = ''): Buffer {
  const bytes = Buffer.from(reason, 'utf8');
  let end = Math.min(bytes.length, 123);
  // Never end inside a character: back off over continuation bytes (10xxxxxx) and their lead.
  if (end < bytes.length) while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  const text = bytes.subarray(0, end);
  const out = Buffer.alloc(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * Counts for tests and diagnostics: bytes FrameReader copied to join a frame that came in pieces
 * (a frame in one chunk copies none).
 */
export const frameReaderStats = { copiedBytes: 0 };
/** The smallest store a WebSocket's frames are joined in (bytes). */
const FRAME_STORE_MIN_BYTES = 1024;
const countFrameCopy = (copiedBytes: number): void => {
  frameReaderStats.copiedBytes += copiedBytes;
};

export type WebSocketEvent =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'binary'; readonly data: Buffer }
  | { readonly kind: 'ping'; readonly data: Buffer }
  | { readonly kind: 'pong'; readonly data: Buffer }
  | { readonly kind: 'close'; readonly code: number | undefined }
  | { readonly kind: 'fail'; readonly code: number; readonly reason: string };

/**
 * Reads the client's frames from the bytes of one connection. `push(chunk)` returns the complete
 * messages and control frames found so far; a protocol violation yields one `fail` and the reader
 * stops (the caller closes with that code).
 */
export class FrameReader {
  /**
   * The bytes received and not yet read as frames. A chunk that arrives while nothing waits is
   * kept as it is; one that arrives while a frame is incomplete is joined to it in `input`.
   */
  private pending: Buffer = EMPTY;
  private readonly input = new InputStore(FRAME_STORE_MIN_BYTES, countFrameCopy);
  /**
   * The fragmented message so far, in one buffer (its first `fragmentBytes` bytes), grown by
   * doubling up to maxMessageBytes. Never a list of the fragments: a list grows by one object per
   * frame however small the frame, so a client sending empty continuation frames (6 bytes each,
   * every one legal, RFC 6455 §5.4) grew it without bound under a byte limit it never reached
   * (3 million frames, 18 MB sent: the server's RSS 53 → 632 MB).
   */
  private assembled: Buffer = Buffer.alloc(0);
  private fragmentBytes = 0;
  private fragmentOpcode: Opcode | undefined;
  private failed = false;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly maxMessageBytes = MAX_WEBSOCKET_MESSAGE_BYTES) {}

  push(chunk: Buffer): WebSocketEvent[] {
    if (this.failed) return [];
    this.take(chunk);
    const out: WebSocketEvent[] = [];
    for (;;) {
      const event = this.next();
      if (event === undefined) break;
      out.push(event);
      if (event.kind === 'fail') {
        this.failed = true;
        this.pending = EMPTY;
        this.input.release();
        break;
      }
      if (event.kind === 'close') break;
    }
    if (this.pending.length === 0) {
      // Nothing waits: drop the store (a chunk kept as it came, or a grown one).
      this.pending = EMPTY;
      this.input.release();
    }
    return out;
  }

  /** Adds `chunk` after the bytes waiting (see `pending`). */
  private take(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pending = this.pending.length === 0 ? chunk : this.input.join(this.pending, chunk);
  }

  private fail(code: number, reason: string): WebSocketEvent {
    return { kind: 'fail', code, reason };
  }

  /** The next event, or undefined when more bytes are needed. */
  private next(): WebSocketEvent | undefined {
    for (;;) {
      const b = this.pending;
      if (b.length < 2) return undefined;
      const b0 = b[0] as number;
      const b1 = b[1] as number;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if ((b0 & 0x70) !== 0) return this.fail(CloseCode.ProtocolError, 'reserved bits set without an extension');
      if ((b1 & 0x80) === 0) return this.fail(CloseCode.ProtocolError, 'client frames must be masked');
      // What the first byte says is judged before the length: a frame no message may have is a
      // protocol error (1002) whatever length it announces, not "too big" (1009), and is refused
      // before its payload is waited for.
      const misplaced = this.misplaced(opcode, fin);
      if (misplaced !== undefined) return this.fail(CloseCode.ProtocolError, misplaced);
      const control = opcode >= 0x8;
      // §5.5: a control frame's payload is at most 125 bytes, so its 7-bit length is the whole length.
      if (control && (b1 & 0x7f) > 125) return this.fail(CloseCode.ProtocolError, 'bad control frame');
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return undefined;
        length = b.readUInt16BE(2);
        // §5.2: "The minimal number of bytes MUST be used to encode the length".
        if (length < 126) return this.fail(CloseCode.ProtocolError, 'a length in 16 bits that fits in 7');
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return undefined;
        const big = b.readBigUInt64BE(2);
        // §5.2: the most significant bit of a 64-bit length MUST be 0.
        if (big >= 1n << 63n) return this.fail(CloseCode.ProtocolError, 'a 64-bit length with its most significant bit set');
        if (big < 65536n) return this.fail(CloseCode.ProtocolError, 'a length in 64 bits that fits in 16');
        if (big > BigInt(this.maxMessageBytes)) return this.fail(CloseCode.TooBig, 'message too big');
        length = Number(big);
        offset = 10;
      }
      if (!control && this.fragmentBytes + length > this.maxMessageBytes) return this.fail(CloseCode.TooBig, 'message too big');
      if (b.length < offset + 4 + length) return undefined;
      const mask = b.subarray(offset, offset + 4);
      const payload = Buffer.from(b.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
      this.pending = b.subarray(offset + 4 + length);
      switch (opcode) {
        case Opcode.Ping:
          return { kind: 'ping', data: payload };
        case Opcode.Pong:
          return { kind: 'pong', data: payload };
        case Opcode.Close:
          return this.closeFrame(payload);
        case Opcode.Text:
        case Opcode.Binary:
          if (fin) return this.message(opcode, payload);
          this.fragmentOpcode = opcode;
          this.fragmentBytes = 0;
          this.append(payload);
          continue;
        case Opcode.Continuation: {
          const first = this.fragmentOpcode;
          if (first === undefined) return this.fail(CloseCode.ProtocolError, 'a continuation with no message');
          this.append(payload);
          if (!fin) continue;
          const whole = this.assembled.subarray(0, this.fragmentBytes);
          this.assembled = Buffer.alloc(0);
          this.fragmentBytes = 0;
          this.fragmentOpcode = undefined;
          return this.message(first, whole);
        }
        default:
          return this.fail(CloseCode.ProtocolError, `unknown opcode ${opcode}`);
      }
    }
  }

  /**
   * Why a frame with this opcode and FIN bit cannot come now (RFC 6455 §5.2 opcodes, §5.4
   * fragmentation, §5.5 control frames), or undefined when it may: an unknown opcode, a
   * fragmented control frame, a continuation with no message begun, or a new message while one
   * is still in fragments.
   */
  private misplaced(opcode: number, fin: boolean): string | undefined {
    if (opcode >= 0x8) {
      if (opcode > Opcode.Pong) return `unknown opcode ${opcode}`;
      return fin ? undefined : 'bad control frame';
    }
    if (opcode > Opcode.Binary) return `unknown opcode ${opcode}`;
    if (opcode === Opcode.Continuation) return this.fragmentOpcode === undefined ? 'a continuation with no message' : undefined;
    return this.fragmentOpcode === undefined ? undefined : 'a new message inside a fragmented one';
  }

  /**
   * Adds a data frame's payload to the fragmented message. The caller has checked that the message
   * stays within maxMessageBytes, so the buffer never grows past it; an empty payload costs nothing.
   */
  private append(payload: Buffer): void {
    if (payload.length === 0) return;
    const need = this.fragmentBytes + payload.length;
    if (need > this.assembled.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxMessageBytes, Math.max(need, 2 * this.assembled.length, 1024)));
      this.assembled.copy(grown, 0, 0, this.fragmentBytes);
      this.assembled = grown;
    }
    payload.copy(this.assembled, this.fragmentBytes);
    this.fragmentBytes = need;
  }

  /**
   * A Close frame (RFC 6455 §5.5.1): empty (no status), or a status code of two bytes and a UTF-8
   * reason. A 1-byte payload, or a code no endpoint may send (isValidCloseCode), fails with 1002;
   * a reason that is not UTF-8 fails with 1007 (§8.1).
   */
  private closeFrame(payload: Buffer): WebSocketEvent {
    if (payload.length === 0) return { kind: 'close', code: undefined };
    if (payload.length === 1) return this.fail(CloseCode.ProtocolError, 'close frame with a 1-byte payload');
    const code = payload.readUInt16BE(0);
    if (!isValidCloseCode(code)) return this.fail(CloseCode.ProtocolError, `close frame with invalid status code ${code}`);
    try {
      this.decoder.decode(payload.subarray(2));
    } catch {
      return this.fail(CloseCode.InvalidPayload, 'close reason is not UTF-8');
    }
    return { kind: 'close', code };
  }

  private message(opcode: Opcode, payload: Buffer): WebSocketEvent {
    if (opcode === Opcode.Binary) return { kind: 'binary', data: payload };
    try {
      return { kind: 'text', text: this.decoder.decode(payload) };
    } catch {
      return this.fail(CloseCode.InvalidPayload, 'text message is not UTF-8');
    }
  }
}
