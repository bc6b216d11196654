/**
 * Which webhook targets may be called (src/webhooks/address.ts): only public unicast addresses,
 * IPv4-mapped IPv6 judged as the IPv4 address; endpoint URLs must be https without credentials and
 * resolve only to public addresses (IP literals checked without DNS, a name judged by every address
 * it resolves to); and the connect-time lookup refuses a private answer in both of the forms Node
 * calls it with. `localhost` is the one real name resolved, from the hosts file.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { expect } from 'chai';
import { ADDRESS_NOT_ALLOWED, checkTargetUrl, guardedLookup, isPublicAddress } from '../../src/webhooks/address.js';

const PRIVATE = [
  '10.0.0.5',
  '172.16.3.4',
  '192.168.1.1',
  '127.0.0.1',
  '169.254.169.254',
  '100.64.0.1',
  '0.0.0.0',
  '255.255.255.255',
  '224.0.0.1',
  '192.0.2.10',
  '::1',
  '::',
  'fc00::1',
  'fd12:3456::1',
  'fe80::1',
  'ff02::1',
  '::ffff:127.0.0.1',
  '::ffff:10.0.0.5',
  '2002:7f00:1::1',
  '64:ff9b::7f00:1',
  '2001:db8::1',
];
const PUBLIC = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8'];

/** A lookup that answers from a table and records what it was asked. */
function fakeDns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const lookup = async (host: string) => {
    asked.push(host);
    const addresses = table[host];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses;
  };
  return { lookup, asked };
}

interface LookupResult {
  readonly err: NodeJS.ErrnoException | null;
  readonly address: string | LookupAddress[];
  readonly family: number | undefined;
}

function callLookup(allowPrivate: boolean, hostname: string, options: LookupOptions): Promise<LookupResult> {
  return new Promise((resolve) => guardedLookup(allowPrivate)(hostname, options, (err, address, family) => resolve({ err, address, family })));
}

describe('webhook targets', () => {
  describe('isPublicAddress', () => {
    for (const ip of PRIVATE) {
      it(`refuses ${ip}`, () => expect(isPublicAddress(ip)).to.equal(false));
    }
    for (const ip of PUBLIC) {
      it(`accepts ${ip}`, () => expect(isPublicAddress(ip)).to.equal(true));
    }
    it('refuses what is not an IP address, shorthands ipaddr.js would read included', () => {
      for (const value of ['', 'example.com', '127.1', '2130706433', '0x7f.0.0.1', '[::1]', '8.8.8.8.8']) expect(isPublicAddress(value), value).to.equal(false);
    });
  });

  describe('checkTargetUrl', () => {
    const noDns = {
      lookup: async (host: string): Promise<string[]> => {
        throw new Error(`no lookup expected, got ${host}`);
      },
    };

    it('accepts an https URL on a public address', async () => {
      expect(await checkTargetUrl('https://8.8.8.8/hooks?x=1', { allowPrivate: false, ...noDns })).to.deep.equal({ ok: true });
      expect(await checkTargetUrl('https://[2606:4700::1111]:8443/hooks', { allowPrivate: false, ...noDns })).to.deep.equal({ ok: true });
    });

    it('refuses http unless private targets are allowed', async () => {
      expect(await checkTargetUrl('http://8.8.8.8/hooks', { allowPrivate: false, ...noDns })).to.deep.equal({ ok: false, reason: 'the URL must use https' });
      expect(await checkTargetUrl('http://8.8.8.8/hooks', { allowPrivate: true, ...noDns })).to.deep.equal({ ok: true });
    });

    it('refuses any other scheme, even with private targets allowed', async () => {
      expect(await checkTargetUrl('ftp://8.8.8.8/hooks', { allowPrivate: true, ...noDns })).to.deep.equal({ ok: false, reason: 'the URL must use https or http' });
      expect(await checkTargetUrl('file:///etc/passwd', { allowPrivate: false, ...noDns })).to.deep.equal({ ok: false, reason: 'the URL must use https' });
    });

    it('refuses what is not an absolute URL', async () => {
      for (const url of ['example.com/hooks', '/hooks', 'https://', '']) {
        expect(await checkTargetUrl(url, { allowPrivate: false, ...noDns }), url).to.deep.equal({ ok: false, reason: 'the URL is not a valid absolute URL' });
      }
    });

    it('refuses a username or password in the URL', async () => {
      for (const url of ['https://user:secret@8.8.8.8/hooks', 'https://user@8.8.8.8/hooks', 'https://:secret@8.8.8.8/hooks']) {
        expect(await checkTargetUrl(url, { allowPrivate: true, ...noDns }), url).to.deep.equal({ ok: false, reason: 'the URL must not contain a username or password' });
      }
    });

    for (const [url, host] of [
      ['https://10.0.0.5/hooks', '10.0.0.5'],
      ['https://169.254.169.254/latest/meta-data', '169.254.169.254'],
      ['https://127.0.0.1:8443/', '127.0.0.1'],
      ['https://2130706433/', '127.0.0.1'],
      ['https://[::1]/', '::1'],
      ['https://[fc00::1]/', 'fc00::1'],
      ['https://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ] as const) {
      it(`refuses ${url} without resolving anything`, async () => {
        expect(await checkTargetUrl(url, { allowPrivate: false, ...noDns })).to.deep.equal({ ok: false, reason: `${host} is a private or reserved address` });
      });
    }

    it('accepts a private IP literal when private targets are allowed', async () => {
      expect(await checkTargetUrl('http://127.0.0.1:3000/hooks', { allowPrivate: true, ...noDns })).to.deep.equal({ ok: true });
      expect(await checkTargetUrl('https://[::1]/hooks', { allowPrivate: true, ...noDns })).to.deep.equal({ ok: true });
    });

    it('accepts a name that resolves only to public addresses', async () => {
      const dns = fakeDns({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] });
      expect(await checkTargetUrl('https://hooks.example.com/in', { allowPrivate: false, lookup: dns.lookup })).to.deep.equal({ ok: true });
      expect(dns.asked).to.deep.equal(['hooks.example.com']);
    });

    it('refuses a name that resolves to a mix of public and private addresses, naming the private one', async () => {
      const dns = fakeDns({ 'mixed.example.com': ['93.184.216.34', '10.0.0.5', '8.8.8.8'] });
      expect(await checkTargetUrl('https://mixed.example.com/in', { allowPrivate: false, lookup: dns.lookup })).to.deep.equal({
        ok: false,
        reason: 'mixed.example.com resolves to 10.0.0.5, a private or reserved address',
      });
    });

    it('refuses a name resolving to an IPv4-mapped loopback address', async () => {
      const dns = fakeDns({ 'sneaky.example.com': ['::ffff:127.0.0.1'] });
      expect(await checkTargetUrl('https://sneaky.example.com/', { allowPrivate: false, lookup: dns.lookup })).to.deep.equal({
        ok: false,
        reason: 'sneaky.example.com resolves to ::ffff:127.0.0.1, a private or reserved address',
      });
    });

    it('accepts a name resolving to private addresses when private targets are allowed', async () => {
      const dns = fakeDns({ 'example.internal': ['10.0.0.5'] });
      expect(await checkTargetUrl('http://example.internal/hooks', { allowPrivate: true, lookup: dns.lookup })).to.deep.equal({ ok: true });
    });

    it('refuses a name that does not resolve, or resolves to nothing, even with private targets allowed', async () => {
      const dns = fakeDns({ 'empty.example.com': [] });
      for (const host of ['missing.example.com', 'empty.example.com']) {
        expect(await checkTargetUrl(`https://${host}/`, { allowPrivate: true, lookup: dns.lookup }), host).to.deep.equal({ ok: false, reason: `${host} does not resolve` });
      }
    });

    it('resolves through the system resolver by default: localhost is private', async () => {
      const result = await checkTargetUrl('https://localhost/hooks', { allowPrivate: false });
      expect(result.ok).to.equal(false);
      expect(result.ok === false && result.reason).to.match(/^localhost resolves to (127\.0\.0\.1|::1), a private or reserved address$/);
    });
  });

  describe('guardedLookup', () => {
    for (const all of [true, false]) {
      it(`refuses localhost with ADDRESS_NOT_ALLOWED when asked for ${all ? 'every address' : 'one address'}`, async () => {
        const { err, address } = await callLookup(false, 'localhost', { all });
        expect(err?.code).to.equal(ADDRESS_NOT_ALLOWED);
        expect(err?.message).to.match(/^localhost resolves to (127\.0\.0\.1|::1), a private or reserved address$/);
        expect(address).to.equal('');
      });
    }

    it('answers every address when asked for all and private targets are allowed', async () => {
      const { err, address } = await callLookup(true, 'localhost', { all: true });
      expect(err).to.equal(null);
      expect(address).to.be.an('array').that.deep.includes({ address: '127.0.0.1', family: 4 });
    });

    it('answers one address and its family otherwise', async () => {
      const { err, address, family } = await callLookup(true, 'localhost', { family: 4 });
      expect(err).to.equal(null);
      expect([address, family]).to.deep.equal(['127.0.0.1', 4]);
    });
  });
});
