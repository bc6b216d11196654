/**
 * Conditional reads through the SDK against the real API: with a ReadCache, a read the client made
 * before goes out with `If-None-Match`, a `304` returns the kept body (equal to a fresh read, and a
 * copy the caller may change), a change on the server is seen at once, list pages and their
 * auto-pagination revalidate too, the cache keeps per API key and evicts the least recently used;
 * without one, nothing is sent that a client did not ask for.
 */
import { expect } from 'chai';
import { ReadCache } from '../../src/index.js';
import { startApi, type RunningApi } from '../helpers/api.js';

interface Seen {
  readonly path: string;
  readonly ifNoneMatch: string | null;
  readonly status: number;
}

/** A `fetch` that records each request's If-None-Match and the status it got. */
function watching(): { fetch: (url: string, init: RequestInit) => Promise<Response>; seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    async fetch(url, init) {
      const response = await fetch(url, init);
      const u = new URL(url);
      seen.push({ path: `${u.pathname}${u.search}`, ifNoneMatch: new Headers(init.headers).get('if-none-match'), status: response.status });
      return response;
    },
  };
}

describe('SDK read cache (conditional reads)', function () {
  this.timeout(60_000);
  let api: RunningApi;
  before(async () => {
    api = await startApi();
  });
  after(() => api?.close());

  it('revalidates a retrieve: 304 answers the kept body, a change is seen at once', async () => {
    const w = watching();
    const cache = new ReadCache();
    const remit = api.client({ fetch: w.fetch, readCache: cache });
    const created = await remit.customers.create({ email: 'cached@example.com', name: 'Before' });

    const first = await remit.customers.retrieve(created.id);
    const second = await remit.customers.retrieve(created.id);
    expect(second).to.deep.equal(first);
    expect(w.seen.slice(-2).map((s) => [s.ifNoneMatch === null, s.status])).to.deep.equal([
      [true, 200],
      [false, 304],
    ]);
    // A copy each time: changing what one call returned does not change what the next returns.
    second.name = 'scribbled';
    const { data: third, response } = await remit.customers.retrieve(created.id).withResponse();
    expect(response.status).to.equal(304);
    expect(third.name).to.equal('Before');

    await remit.customers.update(created.id, { name: 'After' });
    const changed = await remit.customers.retrieve(created.id);
    expect(changed.name).to.equal('After');
    expect(w.seen.at(-1)!.status).to.equal(200);
    expect(await remit.customers.retrieve(created.id)).to.deep.equal(changed);
    expect(w.seen.at(-1)!.status).to.equal(304);
  });

  it('revalidates list pages, auto-pagination included', async () => {
    const w = watching();
    const remit = api.client({ fetch: w.fetch, readCache: new ReadCache() });
    for (let i = 0; i < 5; i++) await remit.customers.create({ email: `page${i}@example.com` });
    const walk = async () => {
      const emails: string[] = [];
      for await (const c of remit.customers.list({ limit: 2 })) emails.push(c.email);
      return emails;
    };
    const before = w.seen.length;
    const one = await walk();
    const pages = w.seen.length - before;
    const two = await walk();
    expect(two).to.deep.equal(one);
    const second = w.seen.slice(before + pages);
    expect(second).to.have.length(pages);
    expect(second.every((s) => s.status === 304 && s.ifNoneMatch !== null), JSON.stringify(second)).to.equal(true);
  });

  it('keeps answers per API key, and the least recently used goes first', async () => {
    const cache = new ReadCache({ maxEntries: 2 });
    const w = watching();
    const remit = api.client({ fetch: w.fetch, readCache: cache });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await remit.customers.create({ email: `lru${i}@example.com` })).id);
    await remit.customers.retrieve(ids[0]!);
    await remit.customers.retrieve(ids[1]!);
    await remit.customers.retrieve(ids[0]!); // 304; ids[0] is now the most recent
    await remit.customers.retrieve(ids[2]!); // evicts ids[1]
    expect(cache.size).to.equal(2);
    await remit.customers.retrieve(ids[1]!);
    await remit.customers.retrieve(ids[0]!);
    expect(w.seen.slice(-6).map((s) => s.status)).to.deep.equal([200, 200, 304, 200, 200, 200]);

    // Another key's client sharing the cache does not get this key's tags.
    const other = await api.t.createKey(api.account, ['read']);
    const w2 = watching();
    await api.client({ apiKey: other.secret, fetch: w2.fetch, readCache: cache }).customers.retrieve(ids[0]!);
    expect(w2.seen[0]!.ifNoneMatch).to.equal(null);
    expect(() => new ReadCache({ maxEntries: 0 })).to.throw(RangeError);
  });

  it('sends no If-None-Match without a cache, and never on writes', async () => {
    const w = watching();
    const remit = api.client({ fetch: w.fetch });
    const created = await remit.customers.create({ email: 'plain@example.com' });
    await remit.customers.retrieve(created.id);
    await remit.customers.retrieve(created.id);
    const cached = api.client({ fetch: w.fetch, readCache: new ReadCache() });
    await cached.customers.retrieve(created.id);
    await cached.customers.update(created.id, { name: 'x' });
    expect(w.seen.map((s) => s.ifNoneMatch)).to.deep.equal([null, null, null, null, null]);
  });
});
