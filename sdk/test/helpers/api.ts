/**
 * The real API for the SDK's integration tests: the server's own test app (PostgreSQL when
 * DATABASE_URL is set, embedded PGlite otherwise; Redis for the quotas when REDIS_URL is set)
 * listening on 127.0.0.1, an account, and SDK clients pointed at it.
 */
import { createTestApp, type TestAccount, type TestApp, type TestAppOptions } from '../../../test/helpers/app.js';
import { listen, type Listening } from '../../../test/helpers/http-server.js';
import { Remit, type ClientOptions } from '../../src/index.js';

export interface RunningApi {
  readonly t: TestApp;
  readonly server: Listening;
  readonly account: TestAccount;
  /**
   * A client for the account's read+write key (or `apiKey`), on the running API. The deprecation
   * warning is off (the tests call v1 throughout); pass `onDeprecation` to see the notices.
   */
  client(options?: Partial<ClientOptions>): Remit;
  close(): Promise<void>;
}

export async function startApi(options: TestAppOptions = {}): Promise<RunningApi> {
  const t = await createTestApp(options);
  const server = await listen(t.app);
  const account = await t.createAccount('SDK tests');
  return {
    t,
    server,
    account,
    client: (clientOptions = {}) => new Remit({ apiKey: account.secret, baseURL: server.url, onDeprecation: () => {}, ...clientOptions }),
    async close() {
      await server.close();
      await t.close();
    },
  };
}

/** A `fetch` that records every attempt's method, path, Idempotency-Key and status. */
export function recordingFetch(): { fetch: NonNullable<ClientOptions['fetch']>; attempts: { method: string; path: string; key: string | null; status: number | null }[] } {
  const attempts: { method: string; path: string; key: string | null; status: number | null }[] = [];
  return {
    attempts,
    async fetch(url, init) {
      const entry = { method: init.method ?? 'GET', path: new URL(url).pathname, key: new Headers(init.headers).get('idempotency-key'), status: null as number | null };
      attempts.push(entry);
      const response = await fetch(url, init);
      entry.status = response.status;
      return response;
    },
  };
}
