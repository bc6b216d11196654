/**
 * The relay: runs in every API instance and turns the outbox into signed HTTP deliveries.
 *
 * 1. Fan-out. Events not yet fanned out are claimed under `FOR UPDATE SKIP LOCKED`; for each, one
 *    delivery row per enabled endpoint of its account that subscribes to its type and existed when
 *    it was written; then the event's flag is set, in the same transaction. Two relays never fan out
 *    one event, a relay that dies mid-batch leaves its events unflagged for the next, and an event
 *    whose transaction committed late is found by the flag whatever its `seq` (migration 006).
 * 2. Delivery. Due deliveries of enabled endpoints are claimed, again skipping locked rows; the
 *    claim pushes `next_attempt_at` to the end of a lease (the attempt's timeout and a margin) and
 *    stamps a token. The attempt's result is written under that token. A relay SIGKILLed mid-attempt
 *    therefore leaves the delivery due again when the lease ends, for any relay: at-least-once, and
 *    a receiver deduplicates by `webhook-id`, which is the event id on every attempt and replay.
 * 3. Replays queued through the API are run the same way, one transaction each.
 *
 * Polling, not LISTEN/NOTIFY: a NOTIFY in every event's transaction would take PostgreSQL's global
 * notification lock at each commit, serialising the commits of every payment in the database to
 * shave at most one poll interval (WEBHOOK_RELAY_INTERVAL_MS, 200 ms by default) off a delivery.
 * The claims are index-only probes of partial indexes that are empty when there is nothing to do.
 *
 * Times the schedule depends on come from an injected clock (`now`), so a test can walk the retry
 * schedule without waiting; the database's own clock stamps only `created_at`.
 */
import { randomUUID } from 'node:crypto';
import { anyUnrelayedEvent, claimUnrelayedEvents, countUnrelayedEvents, eventsInWindow, findEventsByIds, markFannedOut, type OutboxEvent } from '../events/index.js';
import type { Db } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { Naps } from '../platform/naps.js';
import { webhookPayload } from './payload.js';
import * as repo from './repository.js';
import { nextAttemptAt, verdictOf } from './schedule.js';
import type { SecretBox } from './secrets.js';
import type { SendOutcome, WebhookSender } from './send.js';
import { signDelivery } from './signature.js';

export interface RelayOptions {
  /** How long an idle relay waits before looking for work again. */
  readonly intervalMs: number;
  /** Attempts this relay runs at once. */
  readonly concurrency: number;
  /** One attempt's timeout; the claim's lease is this and a margin. */
  readonly timeoutMs: number;
  readonly degradedAfterMs: number;
  readonly disableAfterMs: number;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Events fanned out per transaction. */
  readonly fanOutBatch?: number;
}

/** Time a relay has past the attempt's timeout to record its result before the lease ends. */
const LEASE_MARGIN_MS = 5_000;
const GAUGE_REFRESH_MS = 5_000;
const REPLAY_PAGE = 1_000;
/** How often a running relay looks for queued replays. */
const REPLAY_CHECK_MS = 1_000;
const ATTEMPTS_KEPT = 20;

export class WebhookRelay {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly opened = new Map<number, string>();
  private loop: Promise<void> | undefined;
  private stopped = true;
  private readonly naps = new Naps();
  private gaugesReadAt = 0;
  private replaysCheckedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly sender: Pick<WebhookSender, 'send'>,
    private readonly secrets: SecretBox,
    private readonly options: RelayOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Fans out every event not yet fanned out; returns how many events it fanned out. */
  async fanOut(): Promise<number> {
    const batch = this.options.fanOutBatch ?? 500;
    let total = 0;
    // One index probe when there is nothing to do, rather than a transaction's three round trips.
    if (!(await anyUnrelayedEvent(this.db))) return 0;
    for (;;) {
      const count = await this.db.transaction(async (trx) => {
        const events = await claimUnrelayedEvents(trx, batch);
        if (events.length === 0) return 0;
        const endpoints = await repo.enabledEndpointsOf(trx, [...new Set(events.map((e) => e.account_id))]);
        const due = new Date(this.now());
        const rows: repo.NewDelivery[] = [];
        for (const event of events) {
          for (const endpoint of endpoints) {
            if (endpoint.account_id !== event.account_id || endpoint.created_at > event.created_at) continue;
            if (!endpoint.enabled_events.includes('*') && !endpoint.enabled_events.includes(event.type)) continue;
            rows.push({ id: newId('whd'), account_id: event.account_id, endpoint_id: endpoint.id, event_id: event.id, event_type: event.type, next_attempt_at: due });
          }
        }
        await repo.insertDeliveries(trx, rows);
        await markFannedOut(trx, events.map((e) => e.seq));
        return events.length;
      });
      total += count;
      if (count < batch) return total;
    }
  }

  /** Runs every queued replay; returns how many ran. */
  async runReplays(): Promise<number> {
    let ran = 0;
    for (;;) {
      const done = await this.db.transaction(async (trx) => {
        const replay = await repo.claimQueuedReplay(trx);
        if (!replay) return false;
        const endpoint = await repo.findEndpoint(trx, replay.account_id, replay.endpoint_id);
        let count = 0;
        let afterSeq = 0;
        const due = new Date(this.now());
        while (endpoint) {
          const page = await eventsInWindow(trx, { accountId: replay.account_id, since: replay.since, until: replay.until, types: endpoint.enabled_events }, afterSeq, REPLAY_PAGE);
          await repo.upsertReplayDeliveries(
            trx,
            page.map((e) => ({ id: newId('whd'), account_id: replay.account_id, endpoint_id: endpoint.id, event_id: e.id, event_type: e.type, next_attempt_at: due })),
          );
          count += page.length;
          if (page.length < REPLAY_PAGE) break;
          afterSeq = page[page.length - 1]!.seq;
        }
        await repo.completeReplay(trx, replay.id, count, due);
        this.options.log.info({ replay: replay.id, endpoint: replay.endpoint_id, events: count }, 'webhook replay queued its events');
        return true;
      });
      if (!done) return ran;
      ran += 1;
    }
  }

  /** Claims up to `limit` due deliveries and starts their attempts; returns the attempts started. */
  private async dispatch(limit: number): Promise<Promise<void>[]> {
    if (limit <= 0) return [];
    const now = this.now();
    const token = randomUUID();
    const claimed = await repo.claimDueDeliveries(this.db, new Date(now), new Date(now + this.options.timeoutMs + LEASE_MARGIN_MS), token, limit);
    if (claimed.length === 0) return [];
    const endpointIds = [...new Set(claimed.map((d) => d.endpoint_id))];
    const [events, endpoints, secretRows] = await Promise.all([
      findEventsByIds(this.db, [...new Set(claimed.map((d) => d.event_id))]),
      repo.endpointsByIds(this.db, endpointIds),
      repo.activeSecrets(this.db, endpointIds, new Date(now)),
    ]);
    const eventById = new Map(events.map((e) => [e.id, e]));
    const endpointById = new Map(endpoints.map((e) => [e.id, e]));
    const started: Promise<void>[] = [];
    for (const delivery of claimed) {
      const attempt = this.attempt(delivery, token, eventById.get(delivery.event_id)!, endpointById.get(delivery.endpoint_id), secretRows.filter((s) => s.endpoint_id === delivery.endpoint_id))
        .catch((err: unknown) => this.options.log.error({ err, delivery: delivery.id }, 'webhook attempt could not be recorded; due again when its lease ends'))
        .finally(() => {
          this.inFlight.delete(attempt);
          // A full relay looks again once half its slots are free: a claim per finished attempt
          // would cost a round of queries per delivery.
          if (this.inFlight.size === Math.floor(this.options.concurrency / 2)) this.naps.wakeAll();
        });
      this.inFlight.add(attempt);
      started.push(attempt);
    }
    return started;
  }

  /** Claims every due delivery this relay has room for and waits for their attempts (tests, benchmarks). */
  async deliverDue(): Promise<number> {
    const started = await this.dispatch(this.options.concurrency - this.inFlight.size);
    await Promise.all(started);
    return started.length;
  }

  /** One full round, waited for: fan-out, replays, the due deliveries. */
  async runOnce(): Promise<{ fannedOut: number; replays: number; attempts: number }> {
    const fannedOut = await this.fanOut();
    const replays = await this.runReplays();
    const attempts = await this.deliverDue();
    return { fannedOut, replays, attempts };
  }

  private async openSecrets(endpointId: string, rows: readonly repo.SecretRow[]): Promise<string[]> {
    const secrets: string[] = [];
    for (const row of rows) {
      let secret = this.opened.get(row.id);
      if (secret === undefined) {
        secret = await this.secrets.open(endpointId, { keyId: row.key_id, sealed: row.sealed });
        if (this.opened.size >= 10_000) this.opened.clear();
        this.opened.set(row.id, secret);
      }
      secrets.push(secret);
    }
    return secrets;
  }

  private async attempt(delivery: repo.DeliveryRow, token: string, event: OutboxEvent, endpoint: repo.EndpointRow | undefined, secretRows: readonly repo.SecretRow[]): Promise<void> {
    // Deleted since the claim: its deliveries went with it.
    if (!endpoint) return;
    let secrets: string[];
    try {
      secrets = await this.openSecrets(endpoint.id, secretRows);
    } catch (err) {
      // Never sent unsigned: the delivery waits (due again when its lease ends) until the key is right.
      this.options.log.error({ err, endpoint: endpoint.id, delivery: delivery.id }, 'webhook signing secret could not be opened (was WEBHOOK_SECRETS_KEY changed?); nothing sent');
      return;
    }
    const body = JSON.stringify(webhookPayload(event, endpoint.api_version));
    const attemptedMs = this.now();
    const headers = signDelivery(event.id, Math.floor(attemptedMs / 1000), body, secrets);
    const outcome = await this.sender.send({ url: endpoint.url, body, headers: { ...headers } });
    await this.settle(delivery, token, endpoint, outcome, attemptedMs);
  }

  private async settle(delivery: repo.DeliveryRow, token: string, endpoint: repo.EndpointRow, outcome: SendOutcome, attemptedMs: number): Promise<void> {
    const now = this.now();
    const record: repo.AttemptRecord = {
      attempted: Math.floor(attemptedMs / 1000),
      response_status: outcome.status,
      latency_ms: outcome.latencyMs,
      response_body: outcome.body,
      error: outcome.error,
    };
    const attempts = [...delivery.attempts, record].slice(-ATTEMPTS_KEPT);
    const verdict = verdictOf(outcome);
    const step = delivery.schedule_step + 1;
    const metrics = this.options.metrics;
    metrics?.webhookAttempts.inc({ result: outcome.error ?? (verdict === 'delivered' ? 'delivered' : verdict === 'gone' ? 'gone' : 'http_error') });
    metrics?.webhookAttemptDuration.observe(outcome.latencyMs / 1000);
    const log = this.options.log;

    if (verdict === 'delivered') {
      if (await repo.recordAttempt(this.db, delivery.id, token, { status: 'delivered', scheduleStep: step, nextAttemptAt: null, attempts })) {
        metrics?.webhookDeliveries.inc({ outcome: 'delivered' });
      }
      if (endpoint.failing_since !== null) await repo.markEndpointHealthy(this.db, endpoint.id);
      return;
    }
    if (verdict === 'gone') {
      // 410: the receiver says the endpoint is gone for good; keep sending and it is abuse.
      if (await repo.recordAttempt(this.db, delivery.id, token, { status: 'failed', scheduleStep: step, nextAttemptAt: null, attempts })) {
        metrics?.webhookDeliveries.inc({ outcome: 'failed' });
      }
      if (await repo.disableEndpoint(this.db, endpoint.id, 'gone')) log.warn({ endpoint: endpoint.id, account: endpoint.account_id }, 'webhook endpoint answered 410: disabled');
      return;
    }
    const next = nextAttemptAt({ attemptsMade: step, retryAfterMs: outcome.retryAfterMs, now, random: this.random });
    const status = next === null ? 'failed' : 'pending';
    if (await repo.recordAttempt(this.db, delivery.id, token, { status, scheduleStep: step, nextAttemptAt: next === null ? null : new Date(next), attempts })) {
      if (status === 'failed') metrics?.webhookDeliveries.inc({ outcome: 'failed' });
    }
    const failing = await repo.markEndpointFailing(this.db, endpoint.id, new Date(now));
    if (failing?.failing_since && now - failing.failing_since.getTime() >= this.options.disableAfterMs) {
      if (await repo.disableEndpoint(this.db, endpoint.id, 'failing')) {
        log.warn({ endpoint: endpoint.id, account: endpoint.account_id, failingSince: failing.failing_since }, 'webhook endpoint failed every attempt for too long: disabled');
      }
    }
  }

  /** Reads the backlog and the endpoints' states into the gauges. */
  async refreshGauges(): Promise<void> {
    const metrics = this.options.metrics;
    if (!metrics) return;
    const now = this.now();
    const [unrelayed, b] = await Promise.all([countUnrelayedEvents(this.db), repo.deliveryBacklog(this.db, new Date(now), new Date(now - this.options.degradedAfterMs))]);
    metrics.webhookBacklog.set({ stage: 'fan_out' }, unrelayed);
    metrics.webhookBacklog.set({ stage: 'pending' }, b.pendingDeliveries);
    metrics.webhookBacklog.set({ stage: 'due' }, b.dueDeliveries);
    metrics.webhookOldestPending.set(b.oldestPendingS);
    for (const [state, n] of Object.entries(b.endpoints)) metrics.webhookEndpoints.set({ state }, n);
    this.gaugesReadAt = now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let busy = false;
      try {
        busy = (await this.fanOut()) > 0;
        // Replays are rare and may wait a second; due deliveries and new events may not.
        if (this.now() - this.replaysCheckedAt >= REPLAY_CHECK_MS) {
          this.replaysCheckedAt = this.now();
          busy = (await this.runReplays()) > 0 || busy;
        }
        const room = this.options.concurrency - this.inFlight.size;
        const started = await this.dispatch(room);
        // A full claim means more may be due: look again at once rather than after the interval.
        busy = (room > 0 && started.length === room) || busy;
        if (this.now() - this.gaugesReadAt >= GAUGE_REFRESH_MS) await this.refreshGauges();
      } catch (err) {
        this.options.log.warn({ err }, 'webhook relay round failed; trying again');
      }
      // Half the slots of a busy relay coming free, or `stop`, ends the sleep early.
      if (!busy && !this.stopped) await this.naps.sleep(this.options.intervalMs);
    }
  }

  /** Stops claiming and waits for the attempts in flight (bounded by their timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.naps.wakeAll();
    await this.loop;
    await Promise.all([...this.inFlight]);
  }
}
