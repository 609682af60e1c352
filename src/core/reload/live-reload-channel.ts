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
 */
import type { Exchange, StreamWriter, UpgradedSocket } from '../http/connection';
import type { ConsoleForward } from '../options';
import { CloseCode, FrameReader, Opcode, acceptKey, checkHandshake, closePayload, encodeFrame } from '../http/websocket';

export type ReloadMessage =
  /**
   * `console`: what the page forwards of its console (console-forward); `client`: the version of
   * the client script this server serves (a page running another, cached, fetches it again).
   */
  | { readonly type: 'hello'; readonly id: string; readonly generation: number; readonly console: ConsoleForward; readonly client: string }
  /** What the page forwards of its console from now on (the setting changed). */
  | { readonly type: 'console'; readonly forward: ConsoleForward }
  | { readonly type: 'reload' | 'css' | 'img'; readonly generation: number; readonly paths: readonly string[] }
  /** Go to `path` (origin-form, resolved by the page against its own base URL); not a change of the site. */
  | { readonly type: 'navigate'; readonly path: string };

/** One open page. `closed` turns true when it went away; `end()` closes it from our side. */
export interface ReloadChannel {
  send(message: ReloadMessage): void;
  /** Keeps proxies and idle timeouts from closing the connection. */
  ping(): void;
  end(): void;
  readonly closed: boolean;
}

/** The reconnection delay the browser is told to use (`retry:`) on the event stream. */
export const RETRY_MS = 1_000;

/** A Server-Sent Events channel on an open stream (the 200 is already sent). */
export function eventStreamChannel(writer: StreamWriter): ReloadChannel {
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
      writer.write(': ping\n\n');
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
 */
export function openWebSocketChannel(ex: Exchange, onMessage: (message: unknown) => void): ReloadChannel | undefined {
  const check = checkHandshake(ex.method, ex.head.version, (name) => ex.header(name));
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
  const close = (code: number, reason = ''): void => {
    if (socket.closed) return;
    socket.write(encodeFrame(Opcode.Close, closePayload(code, reason)));
    socket.end();
  };
  socket.onData = (chunk) => {
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
          socket.write(encodeFrame(Opcode.Pong, event.data));
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
          break;
      }
    }
  };
  return {
    get closed() {
      return socket.closed;
    },
    send(message) {
      socket.write(encodeFrame(Opcode.Text, JSON.stringify(message)));
    },
    ping() {
      socket.write(encodeFrame(Opcode.Ping));
    },
    end() {
      close(CloseCode.GoingAway, 'server closing');
    },
  };
}
