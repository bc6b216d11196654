/**
 * The webhooks component as the routes see it: endpoints and their secrets, deliveries, replays.
 * Delivery itself is the relay's (relay.ts); this side only writes what the relay reads.
 */
import type { components, operations } from '../../generated/schema.js';
import type { Db, Transaction } from '../platform/db.js';
import { AppError, notFound } from '../platform/errors.js';
import type { IdempotencyService, IdempotentOperation, IdempotentResult, RequestEnvelope } from '../platform/idempotency/index.js';
import { newId } from '../platform/ids.js';
import { DEFAULT_LIMIT, type CursorCodec, type ListPage } from '../platform/pagination.js';
import { checkTargetUrl } from './address.js';
import { toWebhookDelivery, toWebhookEndpoint, toWebhookReplay, type WebhookDelivery, type WebhookEndpoint, type WebhookEndpointWithSecret, type WebhookReplay } from './endpoint.js';
import * as repo from './repository.js';
import { generateSecret, type SecretBox } from './secrets.js';

type CreateInput = components['schemas']['WebhookEndpointCreateRequest'];
type UpdateInput = components['schemas']['WebhookEndpointUpdateRequest'];
type RotateInput = components['schemas']['WebhookSecretRotateRequest'];
type ReplayInput = components['schemas']['WebhookReplayCreateRequest'];
type DeletedWebhookEndpoint = components['schemas']['DeletedWebhookEndpoint'];
type DeliveryQuery = NonNullable<operations['listWebhookDeliveries']['parameters']['query']>;
type EndpointQuery = NonNullable<operations['listWebhookEndpoints']['parameters']['query']>;

export interface WebhookServiceOptions {
  readonly secrets: SecretBox;
  readonly allowPrivateTargets: boolean;
  readonly maxEndpointsPerAccount: number;
  readonly degradedAfterMs: number;
  /** The clock deliveries are scheduled by, shared with the relay (ms since the epoch). */
  readonly now: () => number;
  /** Name resolution for the URL check; the system resolver when absent. */
  readonly lookup?: (host: string) => Promise<string[]>;
}

const DEFAULT_OVERLAP_S = 86_400;

export class WebhookService {
  private readonly retryOp;
  private readonly replayOp;

  constructor(
    private readonly db: Db,
    private readonly idempotency: IdempotencyService,
    private readonly cursors: CursorCodec,
    private readonly options: WebhookServiceOptions,
  ) {
    this.retryOp = idempotency.register(retryDeliveryOperation(options.now));
    this.replayOp = idempotency.register(createReplayOperation());
  }

  private show(row: repo.EndpointRow): WebhookEndpoint {
    return toWebhookEndpoint(row, this.options.degradedAfterMs, this.options.now());
  }

  private async checkUrl(url: string): Promise<void> {
    const verdict = await checkTargetUrl(url, { allowPrivate: this.options.allowPrivateTargets, lookup: this.options.lookup });
    if (!verdict.ok) throw new AppError('webhook_url_not_allowed', `The webhook URL cannot be used: ${verdict.reason}.`);
  }

  async create(accountId: string, input: CreateInput): Promise<WebhookEndpointWithSecret> {
    await this.checkUrl(input.url);
    const id = newId('we');
    const secret = generateSecret();
    const sealed = await this.options.secrets.seal(id, secret);
    const row = await this.db.transaction(async (trx) => {
      await repo.lockAccountEndpoints(trx, accountId);
      if ((await repo.countEndpoints(trx, accountId)) >= this.options.maxEndpointsPerAccount) {
        throw new AppError(
          'webhook_endpoint_limit_reached',
          `The account already has ${this.options.maxEndpointsPerAccount} webhook endpoints, as many as it may. Delete one first.`,
        );
      }
      return repo.insertEndpoint(
        trx,
        {
          id,
          account_id: accountId,
          url: input.url,
          description: input.description ?? null,
          enabled_events: input.enabled_events,
          api_version: input.api_version ?? 'v2',
        },
        sealed,
      );
    });
    return { ...this.show(row), secret };
  }

  async retrieve(accountId: string, id: string): Promise<WebhookEndpoint> {
    const row = await repo.findEndpoint(this.db, accountId, id);
    if (!row) throw notFound('webhook endpoint', id);
    return this.show(row);
  }

  async list(accountId: string, query: EndpointQuery): Promise<ListPage<WebhookEndpoint>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: 'webhook_endpoints', account: accountId };
    const after = query.cursor ? await this.cursors.decode(scope, {}, query.cursor) : undefined;
    const rows = await repo.listEndpoints(this.db, accountId, limit + 1, after);
    return this.cursors.page(scope, {}, rows, limit, (row) => this.show(row));
  }

  async update(accountId: string, id: string, input: UpdateInput): Promise<WebhookEndpoint> {
    if (!(await repo.findEndpoint(this.db, accountId, id))) throw notFound('webhook endpoint', id);
    if (input.url !== undefined) await this.checkUrl(input.url);
    const changes: repo.EndpointChanges = {};
    if (input.url !== undefined) changes.url = input.url;
    if (input.description !== undefined) changes.description = input.description;
    if (input.enabled_events !== undefined) changes.enabled_events = input.enabled_events;
    if (input.api_version !== undefined) changes.api_version = input.api_version;
    if (input.status === 'disabled') Object.assign(changes, { status: 'disabled', disabled_reason: 'requested' });
    // Enabled again: the failure streak that may have disabled it starts afresh.
    if (input.status === 'enabled') Object.assign(changes, { status: 'enabled', disabled_reason: null, failing_since: null });
    const row = await this.db.transaction(async (trx) => {
      // Locked, so a relay disabling it meanwhile is seen: disabling a disabled endpoint keeps its reason.
      const current = await repo.lockEndpoint(trx, accountId, id);
      if (!current) throw notFound('webhook endpoint', id);
      if (input.status === 'disabled' && current.status === 'disabled') delete changes.disabled_reason;
      return repo.updateEndpoint(trx, accountId, id, changes);
    });
    if (!row) throw notFound('webhook endpoint', id);
    return this.show(row);
  }

  async delete(accountId: string, id: string): Promise<DeletedWebhookEndpoint> {
    if (!(await repo.deleteEndpoint(this.db, accountId, id))) throw notFound('webhook endpoint', id);
    return { id, object: 'webhook_endpoint', deleted: true };
  }

  async rotateSecret(accountId: string, id: string, input: RotateInput | undefined): Promise<WebhookEndpointWithSecret> {
    const overlapS = input?.overlap_seconds ?? DEFAULT_OVERLAP_S;
    const secret = generateSecret();
    const sealed = await this.options.secrets.seal(id, secret);
    const now = new Date(this.options.now());
    const previousUntil = new Date(now.getTime() + overlapS * 1000);
    const row = await this.db.transaction(async (trx) => {
      const endpoint = await repo.lockEndpoint(trx, accountId, id);
      if (!endpoint) throw notFound('webhook endpoint', id);
      await repo.rotateSecret(trx, id, sealed, now, previousUntil);
      return endpoint;
    });
    return { ...this.show(row), secret, previous_secret_expires: overlapS === 0 ? null : Math.floor(previousUntil.getTime() / 1000) };
  }

  async listDeliveries(accountId: string, endpointId: string, query: DeliveryQuery): Promise<ListPage<WebhookDelivery>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const scope = { list: `webhook_deliveries:${endpointId}`, account: accountId };
    const filter = { status: query.status, event: query.event };
    // The request is checked whole before anything is looked up, as every list does.
    const after = query.cursor ? await this.cursors.decode(scope, filter, query.cursor) : undefined;
    if (!(await repo.findEndpoint(this.db, accountId, endpointId))) throw notFound('webhook endpoint', endpointId);
    const rows = await repo.listDeliveries(this.db, accountId, endpointId, { status: query.status, eventId: query.event }, limit + 1, after);
    return this.cursors.page(scope, filter, rows, limit, toWebhookDelivery);
  }

  retryDelivery(envelope: RequestEnvelope, endpointId: string, deliveryId: string): Promise<IdempotentResult<WebhookDelivery>> {
    return this.idempotency.execute(this.retryOp, envelope, { endpointId, deliveryId }, {});
  }

  createReplay(envelope: RequestEnvelope, endpointId: string, input: ReplayInput): Promise<IdempotentResult<WebhookReplay>> {
    if (input.since > input.until) {
      throw new AppError('replay_window_invalid', `until (${input.until}) is before since (${input.since}): the window holds no event.`);
    }
    return this.idempotency.execute(this.replayOp, envelope, { endpointId, body: input }, input);
  }

  async retrieveReplay(accountId: string, endpointId: string, id: string): Promise<WebhookReplay> {
    const row = await repo.findReplay(this.db, accountId, endpointId, id);
    if (!row) throw notFound('webhook replay', id);
    return toWebhookReplay(row);
  }
}

/** The endpoint, locked for the transaction, if it exists and is enabled: what a retry or a replay needs. */
async function lockEnabledEndpoint(trx: Transaction, accountId: string, id: string): Promise<repo.EndpointRow> {
  const endpoint = await repo.lockEndpoint(trx, accountId, id);
  if (!endpoint) throw notFound('webhook endpoint', id);
  if (endpoint.status !== 'enabled') {
    throw new AppError(
      'webhook_endpoint_disabled',
      `Webhook endpoint ${endpoint.id} is disabled (${endpoint.disabled_reason}); enable it before retrying or replaying deliveries to it.`,
    );
  }
  return endpoint;
}

/** `POST …/deliveries/{delivery_id}/retry`: one atomic phase; the delivery is due now, on a new run of the schedule. */
function retryDeliveryOperation(now: () => number): IdempotentOperation<{ endpointId: string; deliveryId: string }, WebhookDelivery> {
  return {
    name: 'retryWebhookDelivery',
    keyRequired: false,
    phases: {
      started: (ctx) =>
        ctx.atomic(async (trx) => {
          const endpoint = await lockEnabledEndpoint(trx, ctx.accountId, ctx.params.endpointId);
          const delivery = await repo.requeueDelivery(trx, ctx.accountId, endpoint.id, ctx.params.deliveryId, new Date(now()));
          if (!delivery) throw notFound('webhook delivery', ctx.params.deliveryId);
          return { response: { status: 202, body: toWebhookDelivery(delivery) } };
        }),
    },
  };
}

/** `POST …/replays`: the replay is queued in one atomic phase; a relay runs it (relay.ts). */
function createReplayOperation(): IdempotentOperation<{ endpointId: string; body: ReplayInput }, WebhookReplay> {
  return {
    name: 'createWebhookReplay',
    keyRequired: false,
    phases: {
      started: (ctx) =>
        ctx.atomic(async (trx) => {
          const endpoint = await lockEnabledEndpoint(trx, ctx.accountId, ctx.params.endpointId);
          const row = await repo.insertReplay(trx, {
            id: newId('whr'),
            account_id: ctx.accountId,
            endpoint_id: endpoint.id,
            since: new Date(ctx.params.body.since * 1000),
            until: new Date(ctx.params.body.until * 1000),
          });
          return { response: { status: 202, body: toWebhookReplay(row) } };
        }),
    },
  };
}
