/**
 * Notifications between the API processes that share a database, for caches that must learn at
 * once that what they hold is stale (a revoked API key).
 *
 * On PostgreSQL: LISTEN on a connection of its own, NOTIFY in the transaction of the change, so a
 * notification is delivered, to every listening process this one included, exactly when the change
 * commits (PostgreSQL docs, NOTIFY: "if a NOTIFY is executed inside a transaction, the notify
 * events are not delivered until and unless the transaction is committed"). The listening
 * connection reconnects by itself; while it is down, `listening` is false and a cache must not
 * trust itself, because it may be missing notifications.
 *
 * On embedded PGlite there is only this process: a notification is an in-process event, emitted
 * once the transaction has committed.
 */
import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from './logger.js';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

export interface NotificationChannel {
  /** Whether notifications are being received right now. */
  readonly listening: boolean;
  /** Calls `onMessage` with each payload; `onListening` whenever `listening` changes. */
  subscribe(onMessage: (payload: string) => void, onListening?: (listening: boolean) => void): () => void;
  /** Runs `work` in a transaction and delivers `payload` to every subscriber once it commits. */
  transaction<T>(db: Knex, payload: string, work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface PgConnectionConfig {
  readonly connection?: { connectionString?: string } | string;
  readonly searchPath?: string[] | string;
}

/** The PostgreSQL channel name: the base name, and the schema when the database is shared (tests). */
function channelName(base: string, searchPath: string[] | string | undefined): string {
  const schema = Array.isArray(searchPath) ? searchPath[0] : searchPath;
  return schema ? `${base}_${schema.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63) : base;
}

/** One emitter per embedded database, shared by every app instance of this process on it. */
const embedded = new WeakMap<Knex, EventEmitter>();

export function createNotificationChannel(db: Knex, base: string, log?: Logger): NotificationChannel {
  const config = db.client.config as PgConnectionConfig & { client?: unknown };
  const url = typeof config.connection === 'string' ? config.connection : config.connection?.connectionString;
  if (config.client === 'pg' && url) return postgresChannel(url, channelName(base, config.searchPath), log);
  let emitter = embedded.get(db);
  if (!emitter) embedded.set(db, (emitter = new EventEmitter().setMaxListeners(0)));
  return embeddedChannel(emitter, base);
}

function embeddedChannel(emitter: EventEmitter, name: string): NotificationChannel {
  const subscriptions = new Set<() => void>();
  return {
    listening: true,
    subscribe(onMessage, onListening) {
      emitter.on(name, onMessage);
      onListening?.(true);
      const off = () => void emitter.off(name, onMessage);
      subscriptions.add(off);
      return off;
    },
    async transaction(db, payload, work) {
      const result = await db.transaction(work);
      emitter.emit(name, payload);
      return result;
    },
    async close() {
      for (const off of subscriptions) off();
    },
  };
}

function postgresChannel(url: string, name: string, log?: Logger): NotificationChannel {
  const messages = new EventEmitter().setMaxListeners(0);
  let listening = false;
  let closed = false;
  let client: pg.Client | undefined;
  let retryMs = RECONNECT_MIN_MS;
  let timer: NodeJS.Timeout | undefined;

  const setListening = (value: boolean) => {
    if (listening === value) return;
    listening = value;
    messages.emit('listening', value);
  };

  const scheduleReconnect = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
  };

  const connect = async () => {
    const next = new pg.Client({ connectionString: url, application_name: 'remit-listen' });
    const lost = (err?: Error) => {
      if (client !== next) return;
      client = undefined;
      setListening(false);
      if (!closed) log?.warn({ component: 'notify', channel: name, err: err?.message }, 'notification connection lost; reconnecting');
      next.end().catch(() => {});
      scheduleReconnect();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    next.on('notification', (msg) => {
      if (msg.channel === name && msg.payload !== undefined) messages.emit('message', msg.payload);
    });
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN "${name}"`);
      if (closed) return void next.end().catch(() => {});
      retryMs = RECONNECT_MIN_MS;
      setListening(true);
    } catch (err) {
      lost(err as Error);
    }
  };
  void connect();

  return {
    get listening() {
      return listening;
    },
    subscribe(onMessage, onListening) {
      messages.on('message', onMessage);
      if (onListening) {
        messages.on('listening', onListening);
        onListening(listening);
      }
      return () => {
        messages.off('message', onMessage);
        if (onListening) messages.off('listening', onListening);
      };
    },
    async transaction(db, payload, work) {
      return db.transaction(async (trx) => {
        const result = await work(trx);
        await trx.raw('select pg_notify(?, ?)', [name, payload]);
        return result;
      });
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      setListening(false);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
