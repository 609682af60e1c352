/**
 * Table tests for parseRequestHead, in the manner of uNetworking/h1spec: one line per rule, each
 * with the raw bytes and the expected status or head fields. Then the picohttpparser checks: every
 * strict prefix of a valid request is incomplete, a request split at any offset parses the same,
 * pipelined requests report where the next one starts, and the limits bite while reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBlankLine, parseRequestHead, type ParseResult, type RequestHead } from '../src/core/http/http-parser';
import { MAX_HEAD_BYTES, MAX_HEADER_FIELDS, MAX_METHOD_BYTES, MAX_TARGET_BYTES, type ParserLimits } from '../src/core/http/limits';
import { isToken, isValidFieldValue, TOKEN_CHARS } from '../src/core/http/http-grammar';

type Expectation = { status: number; code?: string } | { complete: Partial<RequestHead> };

interface Case {
  description: string;
  /** latin1: each char is one byte. */
  raw: string;
  expect: Expectation;
}

const H = 'Host: a\r\n';

const cases: Case[] = [
  // ---- valid requests ----
  {
    description: 'simple GET, origin-form',
    raw: `GET / HTTP/1.1\r\n${H}\r\n`,
    expect: {
      complete: {
        method: 'GET',
        target: '/',
        targetForm: 'origin',
        path: '/',
        version: '1.1',
        headers: [['host', 'a']],
        host: 'a',
        contentLength: undefined,
        chunked: false,
        keepAlive: true,
        expectContinue: false,
      },
    },
  },
  { description: 'path with query', raw: `GET /a/b?c=d&e HTTP/1.1\r\n${H}\r\n`, expect: { complete: { target: '/a/b?c=d&e', path: '/a/b?c=d&e' } } },
  {
    description: 'target with percent-encoding and unusual visible characters',
    raw: `GET /a%20b/{x}|^~"<> HTTP/1.1\r\n${H}\r\n`,
    expect: { complete: { path: '/a%20b/{x}|^~"<>' } },
  },
  {
    description: 'absolute-form: path+query, the authority wins over Host (RFC 9112 §3.2.2)',
    raw: 'GET http://example.com/x?y HTTP/1.1\r\nHost: other\r\n\r\n',
    expect: { complete: { targetForm: 'absolute', target: 'http://example.com/x?y', path: '/x?y', host: 'example.com' } },
  },
  {
    description: 'absolute-form: upper-case https scheme, port, empty path → /',
    raw: 'GET HTTPS://Example.com:8443 HTTP/1.1\r\nHost: Example.com:8443\r\n\r\n',
    expect: { complete: { targetForm: 'absolute', path: '/', host: 'Example.com:8443' } },
  },
  {
    description: 'absolute-form: query without path → /?query',
    raw: `GET http://a?x=1 HTTP/1.1\r\n${H}\r\n`,
    expect: { complete: { targetForm: 'absolute', path: '/?x=1', host: 'a' } },
  },
  { description: 'OPTIONS * (asterisk-form)', raw: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, expect: { complete: { method: 'OPTIONS', targetForm: 'asterisk', path: '*' } } },
  { description: 'OPTIONS with origin-form', raw: `OPTIONS /x HTTP/1.1\r\n${H}\r\n`, expect: { complete: { targetForm: 'origin', path: '/x' } } },
  {
    description: 'CONNECT authority-form',
    raw: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    expect: { complete: { method: 'CONNECT', targetForm: 'authority', path: '', host: 'example.com:443' } },
  },
  { description: 'one leading empty line is ignored (RFC 9112 §2.2)', raw: `\r\nGET / HTTP/1.1\r\n${H}\r\n`, expect: { complete: { method: 'GET', path: '/' } } },
  { description: 'several leading empty lines are ignored', raw: `\r\n\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, expect: { complete: { method: 'GET' } } },
  {
    description: 'HTTP/1.0 without Host; not persistent by default',
    raw: 'GET / HTTP/1.0\r\n\r\n',
    expect: { complete: { version: '1.0', host: undefined, headers: [], keepAlive: false } },
  },
  { description: 'HTTP/1.0 with Connection: keep-alive', raw: 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', expect: { complete: { keepAlive: true } } },
  { description: 'HTTP/1.0 with Connection: Keep-Alive (case-insensitive)', raw: 'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', expect: { complete: { keepAlive: true } } },
  { description: 'HTTP/1.0 with Connection: close, keep-alive → close wins', raw: 'GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n', expect: { complete: { keepAlive: false } } },
  { description: 'HTTP/1.0 with Host and unrelated Connection option', raw: `GET / HTTP/1.0\r\n${H}Connection: upgrade\r\n\r\n`, expect: { complete: { keepAlive: false, host: 'a' } } },
  { description: 'HTTP/1.1 with Connection: close', raw: `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, expect: { complete: { keepAlive: false } } },
  { description: 'HTTP/1.1 with Connection: CLOSE', raw: `GET / HTTP/1.1\r\n${H}Connection: CLOSE\r\n\r\n`, expect: { complete: { keepAlive: false } } },
  { description: 'HTTP/1.1 Connection list containing close', raw: `GET / HTTP/1.1\r\n${H}Connection: keep-alive , Close\r\n\r\n`, expect: { complete: { keepAlive: false } } },
  { description: 'HTTP/1.1 close in a second Connection line', raw: `GET / HTTP/1.1\r\n${H}Connection: upgrade\r\nConnection: close\r\n\r\n`, expect: { complete: { keepAlive: false } } },
  { description: 'HTTP/1.1 Connection: keep-alive', raw: `GET / HTTP/1.1\r\n${H}Connection: keep-alive\r\n\r\n`, expect: { complete: { keepAlive: true } } },
  { description: 'HTTP/1.1 Connection: closed is not close', raw: `GET / HTTP/1.1\r\n${H}Connection: closed\r\n\r\n`, expect: { complete: { keepAlive: true } } },
  {
    description: 'several headers: order kept, names lower-cased, duplicates kept',
    raw: 'GET / HTTP/1.1\r\nHOST: a\r\nAccept: */*\r\nX-Dup: 1\r\nx-dup: 2\r\nUser-Agent: t/1.0\r\n\r\n',
    expect: { complete: { headers: [['host', 'a'], ['accept', '*/*'], ['x-dup', '1'], ['x-dup', '2'], ['user-agent', 't/1.0']] } },
  },
  { description: 'latin1 (obs-text) value decoded as latin1', raw: `GET / HTTP/1.1\r\n${H}X-Name: caf\u00e9 \u00ff\r\n\r\n`, expect: { complete: { headers: [['host', 'a'], ['x-name', 'caf\u00e9 \u00ff']] } } },
  { description: 'empty value', raw: `GET / HTTP/1.1\r\n${H}X-Empty:\r\n\r\n`, expect: { complete: { headers: [['host', 'a'], ['x-empty', '']] } } },
  { description: 'value of only whitespace is empty', raw: `GET / HTTP/1.1\r\n${H}X-Empty: \t \r\n\r\n`, expect: { complete: { headers: [['host', 'a'], ['x-empty', '']] } } },
  { description: 'tab inside a value is kept', raw: `GET / HTTP/1.1\r\n${H}X-Tab: a\tb\r\n\r\n`, expect: { complete: { headers: [['host', 'a'], ['x-tab', 'a\tb']] } } },
  { description: 'OWS around a value is trimmed', raw: `GET / HTTP/1.1\r\n${H}X-Ows: \t v  w \t\r\n\r\n`, expect: { complete: { headers: [['host', 'a'], ['x-ows', 'v  w']] } } },
  { description: 'no space after the colon', raw: 'GET / HTTP/1.1\r\nHost:a\r\n\r\n', expect: { complete: { host: 'a' } } },
  { description: 'method is case-sensitive and kept as sent', raw: `get / HTTP/1.1\r\n${H}\r\n`, expect: { complete: { method: 'get' } } },
  { description: 'any token is a method', raw: `M-SEARCH / HTTP/1.1\r\n${H}\r\n`, expect: { complete: { method: 'M-SEARCH' } } },
  { description: 'Host with port', raw: 'GET / HTTP/1.1\r\nHost: localhost:8000\r\n\r\n', expect: { complete: { host: 'localhost:8000' } } },
  { description: 'Host IPv6 literal with port', raw: 'GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n', expect: { complete: { host: '[::1]:8000' } } },
  { description: 'empty Host value is allowed (RFC 9112 §3.2)', raw: 'GET / HTTP/1.1\r\nHost:\r\n\r\n', expect: { complete: { host: '' } } },
  { description: 'Content-Length', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\n`, expect: { complete: { contentLength: 5, chunked: false } } },
  { description: 'Content-Length: 0', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`, expect: { complete: { contentLength: 0 } } },
  { description: 'Content-Length with leading zeros', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 007\r\n\r\n`, expect: { complete: { contentLength: 7 } } },
  { description: 'Content-Length list of identical values', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\n`, expect: { complete: { contentLength: 5 } } },
  { description: 'Content-Length repeated identically', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, expect: { complete: { contentLength: 5 } } },
  { description: 'Content-Length at MAX_SAFE_INTEGER', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740991\r\n\r\n`, expect: { complete: { contentLength: Number.MAX_SAFE_INTEGER } } },
  { description: 'Transfer-Encoding: chunked', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`, expect: { complete: { chunked: true, contentLength: undefined } } },
  { description: 'Transfer-Encoding: Chunked (case-insensitive)', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\n`, expect: { complete: { chunked: true } } },
  { description: 'Expect: 100-continue', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nExpect: 100-continue\r\n\r\n`, expect: { complete: { expectContinue: true } } },
  { description: 'Expect: 100-Continue (case-insensitive)', raw: `POST / HTTP/1.1\r\n${H}Expect: 100-Continue\r\n\r\n`, expect: { complete: { expectContinue: true } } },
  { description: 'Expect ignored on HTTP/1.0 (RFC 9110 §10.1.1)', raw: 'POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n', expect: { complete: { expectContinue: false } } },
  { description: 'Expect: a list holding 100-continue', raw: `POST / HTTP/1.1\r\n${H}Expect: x-other, 100-continue\r\n\r\n`, expect: { complete: { expectContinue: true } } },
  { description: 'other expectations are ignored', raw: `POST / HTTP/1.1\r\n${H}Expect: 200-ok\r\n\r\n`, expect: { complete: { expectContinue: false } } },

  // ---- line endings ----
  { description: 'bare LF line endings → 400', raw: 'GET / HTTP/1.1\nHost: a\n\n', expect: { status: 400, code: 'ERR_INVALID_LINE_ENDING' } },
  { description: 'one bare LF among CRLFs → 400', raw: 'GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n', expect: { status: 400 } },
  { description: 'bare LF ending the request line → 400', raw: 'GET / HTTP/1.1\nHost: a\r\n\r\n', expect: { status: 400 } },
  { description: 'CR-only line endings → 400', raw: 'GET / HTTP/1.1\rHost: a\r\r', expect: { status: 400, code: 'ERR_INVALID_LINE_ENDING' } },
  { description: 'bare CR inside a value → 400', raw: `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, expect: { status: 400 } },
  { description: 'leading bare LF → 400', raw: `\nGET / HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'LF LF after a CRLF line → 400', raw: `GET / HTTP/1.1\r\n${H}\n\n`, expect: { status: 400 } },

  // ---- request line ----
  { description: 'method with a non-token character → 400', raw: `GE(T / HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_METHOD' } },
  { description: 'method with a raw non-ASCII byte → 400', raw: `G\u00c9T / HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_METHOD' } },
  { description: 'tab between method and target → 400', raw: `GET\t/ HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'empty method (line starts with SP) → 400', raw: ` / HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'two spaces between method and target → 400', raw: `GET  / HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'two spaces before the version → 400', raw: `GET /  HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'trailing space after the version → 400', raw: `GET / HTTP/1.1 \r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'missing version → 400', raw: `GET /\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'method only → 400', raw: `GET\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'lower-case http/1.1 → 400', raw: `GET / http/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_VERSION' } },
  { description: 'HTTP/1.1x → 400', raw: `GET / HTTP/1.1x\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'HTTP/1 → 400', raw: `GET / HTTP/1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'HTTP/10.0 → 400', raw: `GET / HTTP/10.0\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'HTTP/2.0 → 505', raw: `GET / HTTP/2.0\r\n${H}\r\n`, expect: { status: 505, code: 'ERR_VERSION_NOT_SUPPORTED' } },
  // RFC 9110 §2.5: a higher minor version of a major version the server implements is processed
  // as the highest minor version it implements (this entry said 505 before, against that SHOULD).
  {
    description: 'HTTP/1.2 is processed as HTTP/1.1 (RFC 9110 §2.5), its version kept as sent',
    raw: `GET / HTTP/1.2\r\n${H}\r\n`,
    expect: { complete: { version: '1.1', protocol: 'HTTP/1.2', keepAlive: true } },
  },
  { description: 'HTTP/1.9 without Host → 400 (it is HTTP/1.1)', raw: 'GET / HTTP/1.9\r\n\r\n', expect: { status: 400, code: 'ERR_MISSING_HOST' } },
  { description: 'HTTP/0.9 → 505', raw: 'GET / HTTP/0.9\r\n\r\n', expect: { status: 505 } },
  { description: 'relative target without slash → 400', raw: `GET index.html HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_TARGET' } },
  { description: '* with GET → 400', raw: `GET * HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_TARGET' } },
  { description: 'authority-form with GET → 400', raw: `GET example.com:80 HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'CONNECT with origin-form → 400', raw: `CONNECT / HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'CONNECT without port → 400', raw: `CONNECT example.com HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'absolute-form with an unsupported scheme → 400', raw: `GET ftp://a/x HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'absolute-form with an empty authority → 400', raw: `GET http:///x HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'absolute-form with userinfo → 400', raw: `GET http://u:p@a/ HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  // helper-48: `/nums.txt#x` was looked up as a file named `nums.txt#x`. No form has a fragment.
  { description: 'origin-form with a fragment → 400', raw: `GET /nums.txt#x HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_TARGET' } },
  { description: 'a fragment after the query → 400', raw: `GET /?q=1#top HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_TARGET' } },
  { description: 'absolute-form with a fragment → 400', raw: `GET http://a/x#y HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_TARGET' } },
  { description: 'an encoded # is data', raw: `GET /nums%23x.txt HTTP/1.1\r\n${H}\r\n`, expect: { complete: { path: '/nums%23x.txt' } } },
  { description: 'raw non-ASCII byte in target → 400', raw: `GET /caf\u00e9 HTTP/1.1\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_INVALID_TARGET' } },
  { description: 'DEL in target → 400', raw: `GET /a\u007fb HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'NUL in target → 400', raw: `GET /a\u0000b HTTP/1.1\r\n${H}\r\n`, expect: { status: 400 } },
  { description: 'TLS ClientHello bytes → 400', raw: '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n', expect: { status: 400 } },

  // ---- field lines ----
  { description: 'header name with a space → 400', raw: `GET / HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`, expect: { status: 400 } },
  { description: 'space between name and colon → 400 (RFC 9112 §5.1)', raw: 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', expect: { status: 400, code: 'ERR_SPACE_BEFORE_COLON' } },
  { description: 'tab between name and colon → 400', raw: `GET / HTTP/1.1\r\n${H}X-A\t: b\r\n\r\n`, expect: { status: 400, code: 'ERR_SPACE_BEFORE_COLON' } },
  { description: '"Transfer-Encoding : chunked" → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n`, expect: { status: 400 } },
  { description: '" Transfer-Encoding" right after the request line → 400', raw: `POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n${H}\r\n`, expect: { status: 400, code: 'ERR_OBS_FOLD' } },
  { description: 'obs-fold continuation line → 400', raw: `GET / HTTP/1.1\r\n${H}X-A: b\r\n  c\r\n\r\n`, expect: { status: 400, code: 'ERR_OBS_FOLD' } },
  { description: 'empty field name → 400', raw: `GET / HTTP/1.1\r\n${H}: x\r\n\r\n`, expect: { status: 400, code: 'ERR_INVALID_HEADER_NAME' } },
  { description: 'non-token character in field name → 400', raw: `GET / HTTP/1.1\r\n${H}X(y): z\r\n\r\n`, expect: { status: 400, code: 'ERR_INVALID_HEADER_NAME' } },
  { description: 'field line without a colon → 400', raw: `GET / HTTP/1.1\r\n${H}Foo\r\n\r\n`, expect: { status: 400, code: 'ERR_INVALID_HEADER_NAME' } },
  { description: 'NUL in a value → 400', raw: `GET / HTTP/1.1\r\n${H}X: a\u0000b\r\n\r\n`, expect: { status: 400, code: 'ERR_INVALID_HEADER_VALUE' } },
  { description: 'DEL in a value → 400', raw: `GET / HTTP/1.1\r\n${H}X: a\u007fb\r\n\r\n`, expect: { status: 400 } },
  { description: 'ESC in a value → 400', raw: `GET / HTTP/1.1\r\n${H}X: a\u001b[31m\r\n\r\n`, expect: { status: 400 } },
  { description: 'vertical tab before chunked → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \u000bchunked\r\n\r\n`, expect: { status: 400 } },

  // ---- Host ----
  { description: 'HTTP/1.1 without Host → 400', raw: 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', expect: { status: 400, code: 'ERR_MISSING_HOST' } },
  { description: 'HTTP/1.1 absolute-form without Host → 400', raw: 'GET http://a/ HTTP/1.1\r\n\r\n', expect: { status: 400, code: 'ERR_MISSING_HOST' } },
  { description: 'two Host lines → 400', raw: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', expect: { status: 400, code: 'ERR_MULTIPLE_HOST' } },
  { description: 'two identical Host lines → 400', raw: 'GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n', expect: { status: 400, code: 'ERR_MULTIPLE_HOST' } },
  // Fields that say who asks, carried once (helper-157: the first of two Sec-Fetch-Site lines decided).
  { description: 'two Origin lines → 400', raw: `GET / HTTP/1.1\r\n${H}Origin: http://a\r\nOrigin: http://b\r\n\r\n`, expect: { status: 400, code: 'ERR_MULTIPLE_ORIGIN' } },
  { description: 'two Sec-Fetch-Site lines → 400', raw: `GET / HTTP/1.1\r\n${H}Sec-Fetch-Site: same-origin\r\nSec-Fetch-Site: cross-site\r\n\r\n`, expect: { status: 400, code: 'ERR_MULTIPLE_FETCH_METADATA' } },
  { description: 'two identical Sec-Fetch-Mode lines → 400', raw: `GET / HTTP/1.1\r\n${H}sec-fetch-mode: cors\r\nSec-Fetch-Mode: cors\r\n\r\n`, expect: { status: 400, code: 'ERR_MULTIPLE_FETCH_METADATA' } },
  { description: 'a Sec-Fetch-Site list on one line → 400', raw: `GET / HTTP/1.1\r\n${H}Sec-Fetch-Site: same-origin, cross-site\r\n\r\n`, expect: { status: 400, code: 'ERR_MULTIPLE_FETCH_METADATA' } },
  { description: 'a Sec-Fetch-Mode list on one line → 400', raw: `GET / HTTP/1.1\r\n${H}Sec-Fetch-Mode: cors,navigate\r\n\r\n`, expect: { status: 400, code: 'ERR_MULTIPLE_FETCH_METADATA' } },
  { description: 'a Sec-Fetch-Dest list on one line → 400', raw: `GET / HTTP/1.1\r\n${H}Sec-Fetch-Dest: document, script\r\n\r\n`, expect: { status: 400, code: 'ERR_MULTIPLE_FETCH_METADATA' } },
  { description: 'two Sec-Fetch-Dest lines → 400', raw: `GET / HTTP/1.1\r\n${H}Sec-Fetch-Dest: document\r\nSEC-FETCH-DEST: script\r\n\r\n`, expect: { status: 400, code: 'ERR_MULTIPLE_FETCH_METADATA' } },
  {
    description: 'one each of Origin and the Sec-Fetch fields, as a browser sends them → complete',
    raw: `GET / HTTP/1.1\r\n${H}Origin: http://a\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\nSec-Fetch-User: ?1\r\n\r\n`,
    expect: { complete: { method: 'GET' } },
  },
  { description: 'two Host lines on HTTP/1.0 → 400', raw: 'GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n', expect: { status: 400 } },
  { description: 'Host with a space → 400', raw: 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', expect: { status: 400, code: 'ERR_INVALID_HOST' } },
  { description: 'Host with a path → 400', raw: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', expect: { status: 400, code: 'ERR_INVALID_HOST' } },
  { description: 'Host with userinfo → 400', raw: 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', expect: { status: 400, code: 'ERR_INVALID_HOST' } },
  { description: 'Host with a non-numeric port → 400', raw: 'GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n', expect: { status: 400, code: 'ERR_INVALID_HOST' } },

  // ---- Content-Length ----
  { description: 'Content-Length: -1 → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, expect: { status: 400, code: 'ERR_INVALID_CONTENT_LENGTH' } },
  { description: 'Content-Length: +1 → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: +1\r\n\r\n`, expect: { status: 400 } },
  { description: 'Content-Length: 1,2 → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1,2\r\n\r\n`, expect: { status: 400 } },
  { description: 'Content-Length lines that differ → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\n`, expect: { status: 400 } },
  { description: 'Content-Length in hex → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n`, expect: { status: 400 } },
  { description: 'Content-Length with an inner space → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\n`, expect: { status: 400 } },
  { description: 'empty Content-Length → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`, expect: { status: 400 } },
  { description: 'Content-Length list with an empty element → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5,\r\n\r\n`, expect: { status: 400 } },
  { description: 'Content-Length above MAX_SAFE_INTEGER → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`, expect: { status: 400 } },
  { description: 'Content-Length of 20 digits → 400', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, expect: { status: 400 } },

  // ---- Transfer-Encoding (request smuggling shapes) ----
  { description: 'CL then TE → 400 ERR_TE_WITH_CL', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`, expect: { status: 400, code: 'ERR_TE_WITH_CL' } },
  { description: 'TE then CL → 400 ERR_TE_WITH_CL', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`, expect: { status: 400, code: 'ERR_TE_WITH_CL' } },
  { description: 'TE with unsupported coding and CL → 400 ERR_TE_WITH_CL', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n`, expect: { status: 400, code: 'ERR_TE_WITH_CL' } },
  { description: 'TE: gzip → 501', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, expect: { status: 501, code: 'ERR_UNSUPPORTED_TRANSFER_ENCODING' } },
  { description: 'TE: chunked, gzip → 501', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, expect: { status: 501 } },
  { description: 'TE: gzip, chunked → 501', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`, expect: { status: 501 } },
  { description: 'TE: identity → 501', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`, expect: { status: 501 } },
  { description: 'TE: xchunked → 501', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`, expect: { status: 501 } },
  { description: 'TE: chunked, chunked → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`, expect: { status: 400, code: 'ERR_INVALID_TRANSFER_ENCODING' } },
  { description: 'TE: chunked on two lines → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, expect: { status: 400 } },
  { description: 'TE: gzip line then chunked line → 501', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`, expect: { status: 501 } },
  { description: 'TE: chunked with a parameter → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n`, expect: { status: 400 } },
  { description: 'TE: empty → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`, expect: { status: 400 } },
  { description: 'TE: "chunked," (empty element) → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked,\r\n\r\n`, expect: { status: 400 } },
  { description: 'TE: quoted "chunked" → 400', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n`, expect: { status: 400 } },
  { description: 'TE on HTTP/1.0 → 400', raw: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', expect: { status: 400, code: 'ERR_INVALID_TRANSFER_ENCODING' } },
];

function parseAll(raw: string, limits?: ParserLimits): ParseResult {
  return parseRequestHead(Buffer.from(raw, 'latin1'), 0, limits);
}

function assertExpectation(result: ParseResult, expect: Expectation, raw: string, label: string): void {
  if ('status' in expect) {
    assert.equal(result.kind, 'error', `${label}: expected an error, got ${JSON.stringify(result)}`);
    if (result.kind !== 'error') return;
    assert.equal(result.status, expect.status, `${label}: status (${result.code})`);
    if (expect.code !== undefined) assert.equal(result.code, expect.code, `${label}: code`);
    assert.match(result.code, /^ERR_[A-Z_]+$/);
    assert.ok(result.message.length > 0);
  } else {
    assert.equal(result.kind, 'complete', `${label}: expected complete, got ${JSON.stringify(result)}`);
    if (result.kind !== 'complete') return;
    assert.equal(result.consumed, Buffer.byteLength(raw, 'latin1'), `${label}: consumed`);
    for (const key of Object.keys(expect.complete) as Array<keyof RequestHead>) {
      assert.deepEqual(result.head[key], expect.complete[key], `${label}: ${key}`);
    }
  }
}

void test('a Content-Length too large to be any body says so; a malformed one says it is malformed (helper-46)', () => {
  // 99999999999999999999 is a decimal number: "must be a decimal number" was no reason for it.
  for (const value of ['99999999999999999999999', '9007199254740992', '5, 99999999999999999999']) {
    const r = parseAll(`POST / HTTP/1.1\r\n${H}Content-Length: ${value}\r\n\r\n`);
    assert.ok(r.kind === 'error', value);
    assert.equal(r.status, 400, value);
    assert.match(r.message, /^Content-Length is larger than any body this server can take/, value);
  }
  for (const value of ['+5', '0x5', '5, 6', '-1']) {
    const r = parseAll(`POST / HTTP/1.1\r\n${H}Content-Length: ${value}\r\n\r\n`);
    assert.ok(r.kind === 'error', value);
    assert.match(r.message, /^Content-Length must be a decimal number/, value);
  }
});

void test('the table has at least 60 cases', () => {
  assert.ok(cases.length >= 60, String(cases.length));
});

for (const c of cases) {
  void test(`table: ${c.description}`, () => {
    assertExpectation(parseAll(c.raw), c.expect, c.raw, c.description);
  });
}

void test('table: every case gives the same result when fed one byte at a time', () => {
  for (const c of cases) {
    const bytes = Buffer.from(c.raw, 'latin1');
    let result: ParseResult = { kind: 'incomplete' };
    let scanned = 0;
    for (let n = 1; n <= bytes.length; n++) {
      result = parseRequestHead(bytes.subarray(0, n), scanned);
      if (result.kind !== 'incomplete') break;
      scanned = n;
    }
    if ('status' in c.expect) {
      // Errors may surface earlier with a sharper code; the status is what the client sees.
      assert.equal(result.kind, 'error', c.description);
      if (result.kind === 'error') assert.equal(result.status, c.expect.status, c.description);
    } else {
      assertExpectation(result, c.expect, c.raw, `${c.description} (byte by byte)`);
    }
  }
});

const validRequests = cases.filter((c) => 'complete' in c.expect).map((c) => Buffer.from(c.raw, 'latin1'));

void test('every strict prefix of a valid request is incomplete', () => {
  for (const bytes of validRequests) {
    for (let n = 0; n < bytes.length; n++) {
      const result = parseRequestHead(bytes.subarray(0, n), 0);
      assert.equal(result.kind, 'incomplete', `${JSON.stringify(bytes.toString('latin1'))} prefix ${n}`);
    }
  }
});

void test('a valid request split at every offset parses the same (scannedSoFar = previous length)', () => {
  for (const bytes of validRequests) {
    const whole = parseRequestHead(bytes, 0);
    assert.equal(whole.kind, 'complete');
    for (let cut = 1; cut < bytes.length; cut++) {
      const first = parseRequestHead(bytes.subarray(0, cut), 0);
      assert.equal(first.kind, 'incomplete');
      const second = parseRequestHead(bytes, cut);
      assert.deepEqual(second, whole, `cut at ${cut}`);
    }
  }
});

void test('split into three growing pieces at every pair of offsets', () => {
  const bytes = Buffer.from('\r\nPOST /upload?x=1 HTTP/1.1\r\nHost: a:1\r\nContent-Length: 4\r\nX-V: \u00e9\t.\r\n\r\n', 'latin1');
  const whole = parseRequestHead(bytes, 0);
  assert.equal(whole.kind, 'complete');
  for (let a = 1; a < bytes.length; a++) {
    for (let b = a + 1; b < bytes.length; b++) {
      assert.equal(parseRequestHead(bytes.subarray(0, a), 0).kind, 'incomplete');
      assert.equal(parseRequestHead(bytes.subarray(0, b), a).kind, 'incomplete');
      assert.deepEqual(parseRequestHead(bytes, b), whole, `${a}/${b}`);
    }
  }
});

void test('pipelined: consumed points at the second request', () => {
  const first = 'GET /one HTTP/1.1\r\nHost: a\r\n\r\n';
  const second = 'GET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
  const buf = Buffer.from(first + second, 'latin1');
  const r1 = parseRequestHead(buf, 0);
  assert.equal(r1.kind, 'complete');
  if (r1.kind !== 'complete') return;
  assert.equal(r1.consumed, first.length);
  assert.equal(r1.head.path, '/one');
  const rest = buf.subarray(r1.consumed);
  const r2 = parseRequestHead(rest, 0);
  assert.equal(r2.kind, 'complete');
  if (r2.kind !== 'complete') return;
  assert.equal(r2.consumed, second.length);
  assert.equal(r2.head.path, '/two');
  assert.equal(r2.head.keepAlive, false);
});

void test('pipelined: a body after the head is not consumed', () => {
  const head = 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n';
  const r = parseRequestHead(Buffer.from(head + 'abcdGET / HTTP/1.1\r\n', 'latin1'), 0);
  assert.equal(r.kind, 'complete');
  if (r.kind === 'complete') assert.equal(r.consumed, head.length);
});

void test('garbage after a complete head does not affect it', () => {
  const head = `GET / HTTP/1.1\r\n${H}\r\n`;
  const r = parseRequestHead(Buffer.from(head + '\u0000\n\r junk', 'latin1'), 0);
  assert.equal(r.kind, 'complete');
  if (r.kind === 'complete') assert.equal(r.consumed, head.length);
});

void test('a bogus scannedSoFar only costs a rescan', () => {
  const bytes = Buffer.from(`GET / HTTP/1.1\r\n${H}\r\n`, 'latin1');
  const whole = parseRequestHead(bytes, 0);
  // A fraction too: findBlankLine reads bytes at whole offsets only (buf[7.5] is undefined).
  for (const scanned of [-5, Number.NaN, bytes.length + 10, 10.5, Infinity]) {
    assert.deepEqual(parseRequestHead(bytes, scanned), whole, String(scanned));
  }
});

void test('errors are detected before the head is complete', () => {
  const early: Array<[string, number]> = [
    ['\u0016\u0003\u0001', 400], // TLS ClientHello on a plain port
    ['GET / HTTP/1.1\nHost', 400], // bare LF
    ['GET / HTTP/1.1\rHost', 400], // bare CR
    ['(', 400],
    // Lines already complete are judged without waiting for the blank line (the attack session's
    // two pipelined requests without the empty line between them waited for the head timeout).
    ['GET /a HTTP/1.1\r\nHost: a\r\nGET /b HTTP/1.1\r\nHost', 400], // a field line without a colon
    ['GET / HTTP/1.1\r\nHost: a\r\n folded\r\n', 400], // obs-fold
    ['GET / HTTP/2.0\r\nHost', 505], // the request line, as soon as it is complete
    ['GET /\r\nHost', 400], // a request line without a version
  ];
  for (const [raw, status] of early) {
    const r = parseAll(raw);
    assert.equal(r.kind, 'error', JSON.stringify(raw));
    if (r.kind === 'error') assert.equal(r.status, status);
  }
});

// ---- limits ----

/** A complete request whose head is exactly `size` bytes, padded with one X-Pad field. */
function requestOfHeadSize(size: number): string {
  const base = `GET / HTTP/1.1\r\n${H}X-Pad: \r\n\r\n`;
  return `GET / HTTP/1.1\r\n${H}X-Pad: ${'p'.repeat(size - base.length)}\r\n\r\n`;
}

void test('limits: a head of exactly MAX_HEAD_BYTES is accepted', () => {
  const raw = requestOfHeadSize(MAX_HEAD_BYTES);
  assert.equal(raw.length, MAX_HEAD_BYTES);
  assert.equal(parseAll(raw).kind, 'complete');
});

void test('limits: a complete head of MAX_HEAD_BYTES + 1 → 431', () => {
  const r = parseAll(requestOfHeadSize(MAX_HEAD_BYTES + 1));
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.deepEqual([r.status, r.code], [431, 'ERR_HEADER_TOO_LARGE']);
});

void test('limits: more than MAX_HEAD_BYTES buffered without a blank line → 431 at once', () => {
  const raw = requestOfHeadSize(MAX_HEAD_BYTES * 2).slice(0, MAX_HEAD_BYTES + 1);
  const atLimit = parseAll(raw.slice(0, MAX_HEAD_BYTES));
  assert.equal(atLimit.kind, 'incomplete');
  const r = parseRequestHead(Buffer.from(raw, 'latin1'), MAX_HEAD_BYTES);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.equal(r.status, 431);
});

void test('limits: endless empty lines before the request line → 400 that names them, not the 431 that blames cookies', () => {
  assert.equal(parseAll('\r\n'.repeat(MAX_HEAD_BYTES / 2)).kind, 'incomplete'); // exactly the limit
  const over = parseAll('\r\n'.repeat(MAX_HEAD_BYTES / 2 + 1));
  assert.equal(over.kind, 'error');
  if (over.kind === 'error') assert.deepEqual([over.status, over.code], [400, 'ERR_EMPTY_LINES']);
  // helper-146: 8,300 empty lines, then a small head: complete or still arriving, the empty lines
  // are what put it over the bound.
  const small = `GET /a.txt HTTP/1.1\r\n${H}\r\n`;
  for (const raw of ['\r\n'.repeat(8300) + small, '\r\n'.repeat(8300) + small.slice(0, 20)]) {
    const r = parseAll(raw);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') {
      assert.deepEqual([r.status, r.code], [400, 'ERR_EMPTY_LINES']);
      assert.match(r.message, /empty lines came before the request line/);
    }
  }
  // A head too large on its own stays a 431, empty lines before it or not; and one empty line
  // (what RFC 9112 §2.2 says to skip) before a head at the bound is not blamed, whole or still
  // arriving (helper-149).
  const big = parseAll(`\r\n\r\n${requestOfHeadSize(MAX_HEAD_BYTES + 1)}`);
  assert.equal(big.kind === 'error' && big.code, 'ERR_HEADER_TOO_LARGE');
  const atBound = requestOfHeadSize(MAX_HEAD_BYTES - 1);
  for (const raw of [`\r\n${atBound}`, `\r\n${requestOfHeadSize(2 * MAX_HEAD_BYTES)}`.slice(0, MAX_HEAD_BYTES + 2)]) {
    const r = parseAll(raw);
    assert.equal(r.kind === 'error' && r.code, 'ERR_HEADER_TOO_LARGE');
  }
});

function requestWithFields(count: number): string {
  let fields = H;
  for (let i = 1; i < count; i++) fields += `X-F${i}: ${i}\r\n`;
  return `GET / HTTP/1.1\r\n${fields}\r\n`;
}

void test('limits: MAX_HEADER_FIELDS fields are accepted', () => {
  const r = parseAll(requestWithFields(MAX_HEADER_FIELDS));
  assert.equal(r.kind, 'complete');
  if (r.kind === 'complete') assert.equal(r.head.headers.length, MAX_HEADER_FIELDS);
});

void test('limits: MAX_HEADER_FIELDS + 1 fields → 431', () => {
  const r = parseAll(requestWithFields(MAX_HEADER_FIELDS + 1));
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.deepEqual([r.status, r.code], [431, 'ERR_TOO_MANY_HEADERS']);
});

void test('limits: a target of MAX_TARGET_BYTES is accepted, one more → 414', () => {
  const ok = parseAll(`GET /${'a'.repeat(MAX_TARGET_BYTES - 1)} HTTP/1.1\r\n${H}\r\n`);
  assert.equal(ok.kind, 'complete');
  if (ok.kind === 'complete') assert.equal(ok.head.target.length, MAX_TARGET_BYTES);
  const r = parseAll(`GET /${'a'.repeat(MAX_TARGET_BYTES)} HTTP/1.1\r\n${H}\r\n`);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.deepEqual([r.status, r.code], [414, 'ERR_URI_TOO_LONG']);
});

void test('limits: an over-long target is 414 before the request line ends', () => {
  const partial = `GET /${'a'.repeat(MAX_TARGET_BYTES)}`;
  const r = parseAll(partial);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.equal(r.status, 414);
  // One byte less is still waiting.
  assert.equal(parseAll(partial.slice(0, -1)).kind, 'incomplete');
  // Fed in pieces, the 414 comes as soon as the limit is passed.
  const bytes = Buffer.from(partial + ' HTTP/1.1\r\n', 'latin1');
  let scanned = 0;
  let seen: ParseResult = { kind: 'incomplete' };
  let at = 0;
  while (seen.kind === 'incomplete' && at < bytes.length) {
    at = Math.min(at + 1024, bytes.length);
    seen = parseRequestHead(bytes.subarray(0, at), scanned);
    scanned = at;
  }
  assert.equal(seen.kind, 'error');
  if (seen.kind === 'error') assert.equal(seen.status, 414);
  assert.ok(at <= MAX_TARGET_BYTES + 1024 + 4, String(at));
});

void test('limits: an over-long target with the request line complete but the head not → 414', () => {
  const r = parseAll(`GET /${'a'.repeat(MAX_TARGET_BYTES)} HTTP/1.1\r\nHost: a\r\n`);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.equal(r.status, 414);
});

void test('limits: an over-long request line without any space → 400, before it ends', () => {
  const r = parseAll(`GET/${'a'.repeat(MAX_TARGET_BYTES + 1)}`);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.deepEqual([r.status, r.code], [400, 'ERR_INVALID_REQUEST_LINE']);
});

// RFC 9112 §3: "A server that receives a method longer than any that it implements SHOULD respond
// with a 501". helper-157: 20,000 letters and a space got the 431 that blames cookies.
void test('limits: a method of MAX_METHOD_BYTES is parsed, one more → 501 whole, incomplete, or with no space at all', () => {
  const ok = parseAll(`${'M'.repeat(MAX_METHOD_BYTES)} / HTTP/1.1\r\n${H}\r\n`);
  assert.equal(ok.kind, 'complete');
  if (ok.kind === 'complete') assert.equal(ok.head.method.length, MAX_METHOD_BYTES);
  for (const raw of [
    `${'M'.repeat(MAX_METHOD_BYTES + 1)} / HTTP/1.1\r\n${H}\r\n`,
    `${'A'.repeat(20_000)} / HTTP/1.1\r\n${H}\r\n`,
    `${'A'.repeat(20_000)} / HTTP/1.1\r\n${H}`,
    'M'.repeat(MAX_METHOD_BYTES + 1),
    'A'.repeat(70_000),
    `\r\n${'M'.repeat(MAX_METHOD_BYTES + 1)}`,
  ]) {
    const r = parseAll(raw);
    assert.equal(r.kind, 'error', raw.slice(0, 40));
    if (r.kind === 'error') {
      assert.deepEqual([r.status, r.code], [501, 'ERR_METHOD_TOO_LONG'], raw.slice(0, 40));
      assert.match(r.message, /longer than any this server implements \(at most 32 characters\)/);
    }
  }
  // Still waiting while the method may yet end within the bound.
  assert.equal(parseAll('M'.repeat(MAX_METHOD_BYTES)).kind, 'incomplete');
  // Trickled a byte at a time, the 501 comes with the first byte past the bound.
  const bytes = Buffer.from('Q'.repeat(100), 'latin1');
  let seen: ParseResult = { kind: 'incomplete' };
  let at = 0;
  while (seen.kind === 'incomplete' && at < bytes.length) {
    seen = parseRequestHead(bytes.subarray(0, at + 1), at);
    at++;
  }
  assert.equal(seen.kind === 'error' && seen.status, 501);
  assert.equal(at, MAX_METHOD_BYTES + 1);
});

void test('limits: an over-long incomplete request line ends in 414 or 431, never waits', () => {
  for (const raw of [`GET /${'a'.repeat(MAX_HEAD_BYTES)}`, `GET / HTTP/1.1${'x'.repeat(MAX_HEAD_BYTES)}`]) {
    const r = parseAll(raw);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.ok(r.status === 414 || r.status === 431 || r.status === 400, String(r.status));
  }
});

void test('limits: custom ParserLimits are honoured', () => {
  const limits: ParserLimits = { maxHeadBytes: 64, maxHeaderFields: 2, maxTargetBytes: 8 };
  assert.equal(parseAll(`GET /1234567 HTTP/1.1\r\n${H}\r\n`, limits).kind, 'complete');
  const long = parseAll(`GET /12345678 HTTP/1.1\r\n${H}\r\n`, limits);
  assert.equal(long.kind === 'error' && long.status, 414);
  const fields = parseAll(`GET / HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\n\r\n`, limits);
  assert.equal(fields.kind === 'error' && fields.status, 431);
  const big = parseAll(`GET / HTTP/1.1\r\n${H}A: ${'x'.repeat(64)}`, limits);
  assert.equal(big.kind === 'error' && big.status, 431);
});

void test('trickled head: linear scanning stays correct for 1-byte pieces of a large head', () => {
  const raw = requestOfHeadSize(MAX_HEAD_BYTES);
  const bytes = Buffer.from(raw, 'latin1');
  let scanned = 0;
  let r: ParseResult = { kind: 'incomplete' };
  for (let n = 1; n <= bytes.length; n++) {
    r = parseRequestHead(bytes.subarray(0, n), scanned);
    scanned = n;
    if (r.kind !== 'incomplete') break;
  }
  assert.equal(r.kind, 'complete');
  if (r.kind === 'complete') assert.equal(r.consumed, bytes.length);
});

void test('heads in a row: a target or Host like the last head\'s is read as itself, byte for byte, and a Host is judged each time it differs', () => {
  // The parser keeps the last origin-form target and valid Host value to hand out again: a head that
  // differs from the one before in a single byte, with the same length, must be read as sent.
  const heads: Array<[raw: string, expect: Partial<RequestHead> | number]> = [
    ['GET /a.html HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n', { target: '/a.html', path: '/a.html', host: '127.0.0.1:8000' }],
    ['GET /a.html HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n', { target: '/a.html', host: '127.0.0.1:8000' }],
    ['GET /b.html HTTP/1.1\r\nHost: 127.0.0.1:8001\r\n\r\n', { target: '/b.html', path: '/b.html', host: '127.0.0.1:8001' }],
    // The same length as the valid Host before it, and invalid: still 400.
    ['GET /b.html HTTP/1.1\r\nHost: 127.0.0.1:80x1\r\n\r\n', 400],
    ['GET /b.html HTTP/1.1\r\nHost: 127.0.0.1:8001\r\n\r\n', { host: '127.0.0.1:8001' }],
    ['GET /b.html HTTP/1.1\r\nHost: \r\n\r\n', { host: '' }],
    ['GET /b.html HTTP/1.1\r\nHost: 127.0.0.1:8001\r\n\r\n', { host: '127.0.0.1:8001' }],
    // A fragment after a target like the last: still refused.
    ['GET /b.htm# HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['GET http://a/b.html HTTP/1.1\r\nHost: a\r\n\r\n', { target: 'http://a/b.html', path: '/b.html', host: 'a' }],
    ['GET /b.html HTTP/1.1\r\nHost: a\r\n\r\n', { target: '/b.html', host: 'a' }],
  ];
  for (const [raw, expect] of heads) {
    const r = parseAll(raw);
    if (typeof expect === 'number') {
      assert.equal(r.kind === 'error' && r.status, expect, raw);
      continue;
    }
    assert.equal(r.kind, 'complete', raw);
    if (r.kind !== 'complete') continue;
    for (const [key, value] of Object.entries(expect)) assert.deepEqual(r.head[key as keyof RequestHead], value, `${raw}: ${key}`);
  }
});

void test('field names in any case are lower-cased, known names and others alike', () => {
  const r = parseAll(
    'GET / HTTP/1.1\r\nHOST: a\r\nUser-Agent: u\r\nuser-agent: v\r\nX-Custom-Thing: 1\r\nSec-Fetch-Mode: navigate\r\nTe: trailers\r\nUSER-AGENX: w\r\n\r\n',
  );
  assert.equal(r.kind, 'complete');
  if (r.kind !== 'complete') return;
  assert.deepEqual(r.head.headers, [
    ['host', 'a'],
    ['user-agent', 'u'],
    ['user-agent', 'v'],
    ['x-custom-thing', '1'],
    ['sec-fetch-mode', 'navigate'],
    ['te', 'trailers'],
    ['user-agenx', 'w'],
  ]);
});

// ---- the end of the head ----

void test('findBlankLine finds what Buffer.indexOf finds, from any offset, across its JavaScript scan and the native search after it', () => {
  const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
  // Seeded (a failure is the same every run): mostly CR and LF, so near misses (CR LF CR, LF CR
  // LF, CR CR LF LF) are everywhere, including around the 128th byte where the scan hands over.
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  const alphabet = [0x0d, 0x0a, 0x0d, 0x0a, 0x41];
  let compared = 0;
  for (let n = 0; n < 2000; n++) {
    const buf = Buffer.alloc(next() % 300);
    for (let i = 0; i < buf.length; i++) buf[i] = alphabet[next() % alphabet.length]!;
    for (let from = 0; from <= buf.length; from += 1 + (next() % 7)) {
      assert.equal(findBlankLine(buf, from), buf.indexOf(CRLFCRLF, from), `${JSON.stringify(buf.toString('latin1'))} from ${from}`);
      compared++;
    }
  }
  // A head's empty line at every offset around where the scan stops, found whole (the parse
  // consumes exactly the head) whatever the bytes before it.
  for (let end = 100; end < 160; end++) {
    const filler = 'x'.repeat(end - 'GET / HTTP/1.1\r\nHost: a\r\nX: \r\n'.length + 2);
    const raw = `GET / HTTP/1.1\r\nHost: a\r\nX: ${filler}\r\n\r\nGET`;
    const buf = Buffer.from(raw, 'latin1');
    const blank = buf.indexOf(CRLFCRLF);
    assert.equal(findBlankLine(buf, 0), blank);
    const r = parseRequestHead(buf, 0);
    assert.equal(r.kind, 'complete');
    if (r.kind === 'complete') assert.equal(r.consumed, blank + 4);
  }
  assert.ok(compared > 40_000, `${compared} offsets compared`);
});

// ---- grammar ----

void test('grammar: token table matches RFC 9110 §5.6.2', () => {
  assert.equal(TOKEN_CHARS.length, 256);
  const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (let b = 0; b < 256; b++) {
    assert.equal(TOKEN_CHARS[b] === 1, tchar.includes(String.fromCharCode(b)), `byte ${b}`);
  }
  assert.equal(isToken('GET'), true);
  assert.equal(isToken('x-custom-header'), true);
  assert.equal(isToken(''), false);
  assert.equal(isToken('a b'), false);
  assert.equal(isToken('a:b'), false);
  assert.equal(isToken('caf\u00e9'), false);
  assert.equal(isToken('\u0100'), false);
});

void test('grammar: field values (the writer’s header-injection defence)', () => {
  assert.equal(isValidFieldValue(''), true);
  assert.equal(isValidFieldValue('text/html; charset=utf-8'), true);
  assert.equal(isValidFieldValue('a\tb'), true);
  assert.equal(isValidFieldValue('caf\u00e9\u00ff'), true);
  assert.equal(isValidFieldValue('a\r\nSet-Cookie: x'), false);
  assert.equal(isValidFieldValue('a\nb'), false);
  assert.equal(isValidFieldValue('a\rb'), false);
  assert.equal(isValidFieldValue('a\u0000b'), false);
  assert.equal(isValidFieldValue('a\u007fb'), false);
  assert.equal(isValidFieldValue('\u0100'), false);
  assert.equal(isValidFieldValue('\u2028'), false);
});
