/**
 * Client host names come from a reverse lookup, and a PTR record says whatever the owner of the
 * client's address zone wrote: `localhost`, another address, a bank's name. A name is shown (Output,
 * Requests view, log file) only when it resolves back to the client's address (forward-confirmed
 * reverse DNS, as Apache's `HostnameLookups Double` and sshd check), and never when it is itself an
 * address. A real DNS server on loopback UDP answers the lookups.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { HostNameResolver } from '../../src/core/log/request-log';

/** name (lower case) → answers; PTR names for reverse zones, addresses for A and AAAA. */
const ZONE: Record<string, { ptr?: string; a?: string[]; aaaa?: string[] }> = {
  '1.2.0.192.in-addr.arpa': { ptr: 'localhost' },
  '2.2.0.192.in-addr.arpa': { ptr: 'bank.example' },
  'bank.example': { a: ['198.51.100.7'] },
  '3.2.0.192.in-addr.arpa': { ptr: 'laptop.lan' },
  'laptop.lan': { a: ['192.0.2.77', '192.0.2.3'] },
  '4.2.0.192.in-addr.arpa': { ptr: '192.0.2.4' },
  '192.0.2.4': { a: ['192.0.2.4'] },
  '5.2.0.192.in-addr.arpa': { ptr: 'gone.example' },
  [`${'1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2'}.ip6.arpa`]: { ptr: 'v6.lan' },
  'v6.lan': { aaaa: ['2001:db8::1'] },
};

let dns: Socket;
let server: string;

function encodeName(name: string): Buffer {
  return Buffer.concat([...name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

function answer(query: Buffer): Buffer {
  const labels: string[] = [];
  let i = 12;
  while (query[i] !== 0 && i < query.length) {
    const len = query[i]!;
    labels.push(query.subarray(i + 1, i + 1 + len).toString());
    i += 1 + len;
  }
  const qtype = query.readUInt16BE(i + 1);
  const question = query.subarray(12, i + 5);
  const entry = ZONE[labels.join('.').toLowerCase()];
  const rdata: Buffer[] = [];
  if (qtype === 12 && entry?.ptr !== undefined) rdata.push(encodeName(entry.ptr));
  if (qtype === 1) for (const a of entry?.a ?? []) rdata.push(Buffer.from(a.split('.').map(Number)));
  if (qtype === 28) for (const a of entry?.aaaa ?? []) rdata.push(ipv6Bytes(a));
  const head = Buffer.alloc(12);
  query.copy(head, 0, 0, 2);
  head.writeUInt16BE(entry === undefined ? 0x8183 : 0x8180, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(rdata.length, 6);
  const records = rdata.map((data) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(data.length, 10);
    return Buffer.concat([rr, data]);
  });
  return Buffer.concat([head, question, ...records]);
}

function ipv6Bytes(address: string): Buffer {
  const [left = '', right = ''] = address.split('::');
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  return Buffer.from(groups.map((g) => g.padStart(4, '0')).join(''), 'hex');
}

before(async () => {
  dns = createSocket('udp4');
  dns.on('message', (msg, rinfo) => dns.send(answer(msg), rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
  server = `127.0.0.1:${dns.address().port}`;
});

after(() => dns.close());

void test('a PTR name is shown only when it resolves back to the client: never localhost, another address or a name pointing elsewhere', async () => {
  const names = new HostNameResolver(true, [server]);
  try {
    assert.equal(await names.lookup('192.0.2.3'), 'laptop.lan', 'a forward-confirmed name is kept');
    assert.equal(await names.lookup('2001:db8::1'), 'v6.lan', 'IPv6 too');
    assert.equal(await names.lookup('192.0.2.1'), null, 'PTR localhost for a network client');
    assert.equal(await names.lookup('192.0.2.2'), null, 'PTR naming a host whose address is another');
    assert.equal(await names.lookup('192.0.2.4'), null, 'PTR that is an address');
    assert.equal(await names.lookup('192.0.2.5'), null, 'PTR naming a host with no address');
    assert.equal(names.peek('192.0.2.1'), null, 'cached as unknown');
    assert.equal(names.peek('127.0.0.1'), 'localhost', 'loopback is still localhost without asking');
  } finally {
    names.close();
  }
});
