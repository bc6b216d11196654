/**
 * Cursor pagination over the spec's list envelope (`{ object, data, has_more, next_cursor }`).
 * `await remit.payments.list(query)` is one `Page`; `for await (const p of remit.payments.list(query))`
 * walks every item of every page, asking for the next page only when the current one is used up.
 * Each next page is the same call with the same filters and options, plus `cursor: next_cursor`.
 */
import { APIPromise, type APIResult } from './api-promise.js';
import { RemitError } from './errors.js';
import type { components } from '../generated/schema.js';

type ListEnvelope = components['schemas']['ListEnvelope'];

/** Fetches the page that starts at `cursor`, with the filters and options of the first call. */
export type FetchPage<Item> = (cursor: string) => PagePromise<Item>;

export class Page<Item> implements AsyncIterable<Item> {
  readonly object: ListEnvelope['object'];
  /** This page's items, newest first. */
  readonly data: Item[];
  readonly has_more: ListEnvelope['has_more'];
  readonly next_cursor: ListEnvelope['next_cursor'];
  readonly #fetchPage: FetchPage<Item>;

  constructor(body: ListEnvelope & { data: Item[] }, fetchPage: FetchPage<Item>) {
    this.object = body.object;
    this.data = Array.isArray(body.data) ? body.data : [];
    this.has_more = body.has_more === true;
    this.next_cursor = body.next_cursor ?? null;
    this.#fetchPage = fetchPage;
  }

  hasNextPage(): boolean {
    return this.has_more && typeof this.next_cursor === 'string' && this.next_cursor !== '';
  }

  /** The page after this one; rejects when there is none (check `hasNextPage()` first). */
  getNextPage(): PagePromise<Item> {
    if (!this.hasNextPage()) {
      return new PagePromise(Promise.reject(new RemitError('This is the last page: check hasNextPage() before getNextPage().')));
    }
    return this.#fetchPage(this.next_cursor!);
  }

  /** This page, then each page after it. */
  async *iterPages(): AsyncGenerator<Page<Item>, void, undefined> {
    yield this;
    let next = this.hasNextPage() ? await this.getNextPage() : undefined;
    while (next) {
      yield next;
      next = next.hasNextPage() ? await next.getNextPage() : undefined;
    }
  }

  /** Every item of this page and of the pages after it. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }
}

/** A list call in flight: await it for the first page, or `for await` over it for every item. */
export class PagePromise<Item> extends APIPromise<Page<Item>> implements AsyncIterable<Item> {
  constructor(result: Promise<APIResult<Page<Item>>>) {
    super(result);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    const first = await this;
    yield* first;
  }
}
