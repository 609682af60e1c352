/**
 * The channels live reload talks to pages over, one per open page:
 * - WebSocket (RFC 6455) at `/__porthole/socket`, what the client uses. Browsers count WebSockets
 *   apart from the 6 HTTP/1.1 connections they allow per host, so any number of tabs of one
 *   server load and reload (an event stream per tab held one of those 6 for good: the seventh tab
 *   never loaded);
 * - Server-Sent Events at `/__porthole/events`, kept for tools and older pages.
 * Both carry the same messages: `hello` (instance, generation) when opened, then each event with
 * its generation. WebSocket messages are JSON text frames:
 *   {"type":"hello","id":"<instance>","generation":N,"console":"off"|"errors"|"all","client":"<CLIENT_VERSION>"}
 *   {"type":"console","forward":"off"|"errors"|"all"}     (the console-forward setting changed)
 *   {"type":"reload"|"css"|"img","generation":N,"paths":["/a.css",…]}
 *   {"type":"navigate","path":"/about.html"}   (event stream: `event: navigate`, data {"path":…})
 * and the client may send {"type":"console",…} (its console, see console-forward). The event
 * stream is one-way: pages on it forward nothing. Ping frames keep the
 * connection alive; a client's Close is answered and ends the exchange.
 *
 * What waits to be sent to a page is bounded (RFC 6455 §10.4: an endpoint limits what a peer may
 * make it hold): see MAX_WEBSOCKET_BACKLOG_BYTES.
 */
import type { Exchange, StreamWriter, UpgradedSocket } from '../http/connection';
import type { ConsoleForward } from '../options';
import { CloseCode, FrameReader, Opcode, acceptKey, checkHandshake, closePayload, encodeFrame, type FieldValues } from '../http/websocket';

export type ReloadMessage =
  /**
   * `console`: what the page forwards of its console (console-forward); `client`: the version of
   * the client script this server serves (a page running another, cached, fetches it again).
   */
  | { readonly type: 'hello'; readonly id: string; readonly generation: number; readonly console: ConsoleForward; readonly client: string }
  /** What the page forwards of its console from now on (the setting changed). */
  | { readonly type: 'console'; readonly forward: ConsoleForward }
  | { readonly type: 'reload' | 'css' | 'img' | 'source'; readonly generation: number; readonly paths: readonly string[] }
  /** Go to `path` (origin-form, resolved by the page against its own base URL); not a change of the site. */
  | { readonly type: 'navigate'; readonly path: string };

/** One open page. `closed` turns true when it went away; `end()` closes it from our side. */
export interface ReloadChannel {
  send(message: ReloadMessage): void;
  /**
   * Keeps proxies and idle timeouts from closing the connection, and finds a dead peer: called
   * every heartbeat (live-reload.ts heartbeatTiming), it first closes the channel when the page
   * has not answered (WebSocket: no Pong echoing it) or taken (event stream) the previous ping —
   * a tab whose machine went to sleep or lost its network without a FIN, or a client that stopped
   * reading. So such a channel goes within two heartbeats instead of holding its slot for ever.
   */
  ping(): void;
  end(): void;
  readonly closed: boolean;
}

/**
 * Bytes written to a WebSocket after its socket's buffer filled (a write returned false) and before
 * it drained: what the server holds for a page that is not reading, beyond the socket's high-water
 * mark and the kernel's buffers. The same 1 MiB as an HTTP connection's response queue
 * (`limits.maxQueuedBytes`). Answers the client asked for (pongs, the Close reply) never get near
 * it: the server stops reading a page whose buffer is full until it drains (backpressure), so a
 * page that sends pings and reads nothing only stalls its own writes (its pongs queued 727 MB
 * unbounded). Messages the server sends of its own accord (hello, events, navigate, console, its
 * pings) that would take it past this close the page with 1008 (RFC 6455 §7.4.1, policy
 * violation): a reload it cannot read is no use to it, and it reconnects and reloads once it does.
 */
export const MAX_WEBSOCKET_BACKLOG_BYTES = 1024 * 1024;

/** Every value of a request field, in the order of its lines (the handshake's FieldValues). */
export function fieldValues(ex: Exchange): FieldValues {
  return (name) => ex.head.headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** The reconnection delay the browser is told to use (`retry:`) on the event stream. */
export const RETRY_MS = 1_000;

/**
 * A Server-Sent Events channel on an open stream (the 200 is already sent). The stream is one-way,
 * so the client cannot answer a ping: whether it took the previous one is what its kernel tells
 * (StreamWriter.taken: acknowledged, and on loopback read). A ping not taken by the next one (a
 * heartbeat later) closes the stream (`note` says why, for the log). The bound is the
 * WebSocket's: a dead peer or one that stopped reading goes within two heartbeats. Where that
 * cannot be known (not Linux, /proc unreadable) the stream is kept: a peer gone without a FIN is
 * let go by TCP only once the pings' retransmissions time out (minutes), and a client that stops
 * reading holds it until its buffers fill (maxQueuedBytes, the slow-reader check; pings alone never
 * fill them) — the WebSocket, which browsers answer, is the channel pages use.
 */
export function eventStreamChannel(writer: StreamWriter, note: (why: string) => void = () => undefined): ReloadChannel {
  /** Where the last ping ends in the connection's bytes (written()); undefined: none sent yet. */
  let lastPingEnd: number | undefined;
  return {
    get closed() {
      return writer.closed;
    },
    send(message) {
      if (message.type === 'hello') {
        const data = JSON.stringify({ id: message.id, generation: message.generation });
        writer.write(`retry: ${RETRY_MS}\nevent: hello\ndata: ${data}\n\n`);
      } else if (message.type === 'console') {
        // Pages on the event stream cannot send their console: nothing to tell them.
      } else if (message.type === 'navigate') {
        writer.write(`event: navigate\ndata: ${JSON.stringify({ path: message.path })}\n\n`);
      } else {
        const data = JSON.stringify({ paths: message.paths });
        writer.write(`id: ${message.generation}\nevent: ${message.type}\ndata: ${data}\n\n`);
      }
    },
    ping() {
      if (writer.closed) return;
      const taken = writer.taken();
      if (lastPingEnd !== undefined && taken !== undefined && taken < lastPingEnd) {
        note('live reload: event stream closed: the client did not take the last ping within a heartbeat (gone or not reading)');
        writer.end();
        return;
      }
      writer.write(': ping\n\n');
      lastPingEnd = writer.written();
    },
    end() {
      writer.end();
    },
  };
}

/**
 * Completes a WebSocket opening handshake on `ex` (or refuses it: 426/400, see checkHandshake)
 * and returns its channel; `onMessage` gets each text message the page sends, parsed as JSON
 * (anything else is ignored). Returns undefined when refused.
 *
 * Backpressure (RFC 6455 §10.4): every frame goes through `queue`. Once a write finds the socket's
 * buffer full, the page's bytes are not read until it drains, so what the page asks for (a pong
 * per ping, the Close reply) waits in its own socket and kernel buffers, never in ours: at most
 * one chunk's answers are queued beyond the full buffer. What the server sends of its own accord
 * while the buffer stays full counts against MAX_WEBSOCKET_BACKLOG_BYTES; past it the page is
 * closed with 1008 (the connection then ends after the Close frame, or when it lingers too long).
 */
export function openWebSocketChannel(ex: Exchange, onMessage: (message: unknown) => void): ReloadChannel | undefined {
  const check = checkHandshake(ex.method, ex.head.version, fieldValues(ex));
  if (check.kind === 'refuse') {
    ex.note = `live reload: ${check.message}`;
    ex.closeAfter = true;
    ex.respond(check.status, [['Content-Type', 'text/plain; charset=utf-8'], ...check.headers], `${check.message}\n`);
    return undefined;
  }
  const socket: UpgradedSocket = ex.upgrade([
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', acceptKey(check.key)],
  ]);
  const reader = new FrameReader();
  /** A write found the socket's buffer full; 'drain' has not come yet. */
  let full = false;
  /** Bytes written while `full` (reset on drain). */
  let backlog = 0;
  /** The page's bytes are not read until the socket drains. */
  let reading = true;
  const queue = (bytes: Buffer): void => {
    if (full) backlog += bytes.length;
    if (!socket.write(bytes)) full = true;
  };
  socket.onDrain = () => {
    full = false;
    backlog = 0;
    if (!reading && !socket.closed) {
      reading = true;
      socket.resume();
    }
  };
  const close = (code: number, reason = ''): void => {
    if (socket.closed) return;
    queue(encodeFrame(Opcode.Close, closePayload(code, reason)));
    socket.end();
  };
  /** A message of the server's own: closes a page that stays backed up past the bound instead. */
  const sendOwn = (bytes: Buffer): void => {
    if (socket.closed) return;
    if (full && backlog + bytes.length > MAX_WEBSOCKET_BACKLOG_BYTES) {
      ex.note = `live reload: WebSocket not read: over ${MAX_WEBSOCKET_BACKLOG_BYTES} bytes waiting to be sent`;
      close(CloseCode.PolicyViolation, 'not reading');
      return;
    }
    queue(bytes);
  };
  /**
   * The payload of the last ping sent until a Pong echoes it (RFC 6455 §5.5.3: a Pong answering a
   * Ping carries its Application data): a Pong with anything else (unsolicited, §5.5.3, or an old
   * one) does not count, so a page must read our pings to answer them. `pings` makes each payload
   * new (a short decimal number).
   */
  let unanswered: Buffer | undefined;
  let pings = 0;
  socket.onData = (chunk) => {
    try {
      for (const event of reader.push(chunk)) {
        switch (event.kind) {
          case 'text':
            try {
              onMessage(JSON.parse(event.text) as unknown);
            } catch {
              // Not JSON: not one of our messages.
            }
            break;
          case 'ping':
            queue(encodeFrame(Opcode.Pong, event.data));
            break;
          case 'close':
            close(CloseCode.Normal);
            return;
          case 'fail':
            ex.note = `live reload: WebSocket ${event.reason}`;
            close(event.code, event.reason);
            return;
          case 'binary':
            close(CloseCode.UnsupportedData, 'text messages only');
            return;
          case 'pong':
            if (unanswered !== undefined && event.data.equals(unanswered)) unanswered = undefined;
            break;
        }
      }
    } finally {
      // Backpressure: the answers to this chunk filled the socket's buffer; read on once it drains.
      if (full && reading && !socket.closed) {
        reading = false;
        socket.pause();
      }
    }
  };
  return {
    get closed() {
      return socket.closed;
    },
    send(message) {
      sendOwn(encodeFrame(Opcode.Text, JSON.stringify(message)));
    },
    ping() {
      if (socket.closed) return;
      if (unanswered !== undefined) {
        // No Pong for the ping sent a heartbeat ago: the peer is gone (asleep, network lost
        // without a FIN) or not reading. The Close is for a peer that still reads; the connection
        // then ends after it, or when it lingers too long (a dead peer never answers it).
        ex.note = 'live reload: WebSocket closed: no Pong to the last ping within a heartbeat (gone or not reading)';
        close(CloseCode.GoingAway, 'no pong');
        return;
      }
      pings = (pings + 1) % 1_000_000_000;
      unanswered = Buffer.from(String(pings));
      sendOwn(encodeFrame(Opcode.Ping, unanswered));
    },
    end() {
      close(CloseCode.GoingAway, 'server closing');
    },
  };
}
