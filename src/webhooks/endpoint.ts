/** The webhook resources as the API shows them, from their rows. */
import type { components } from '../../generated/schema.js';
import { toUnixSeconds } from '../platform/pagination.js';
import type { DeliveryRow, EndpointRow, ReplayRow } from './repository.js';

export type WebhookEndpoint = components['schemas']['WebhookEndpoint'];
export type WebhookEndpointWithSecret = components['schemas']['WebhookEndpointWithSecret'];
export type WebhookDelivery = components['schemas']['WebhookDelivery'];
export type WebhookReplay = components['schemas']['WebhookReplay'];
type EventType = components['schemas']['EventType'];
type Selector = components['schemas']['WebhookEventSelector'];

const unixOrNull = (date: Date | null) => (date === null ? null : toUnixSeconds(date));

/** `degraded` is read off the failure streak's age, so it needs no job to set it. */
export function toWebhookEndpoint(row: EndpointRow, degradedAfterMs: number, nowMs: number): WebhookEndpoint {
  return {
    id: row.id,
    object: 'webhook_endpoint',
    url: row.url,
    description: row.description,
    enabled_events: row.enabled_events as Selector[],
    api_version: row.api_version,
    status: row.status,
    disabled_reason: row.disabled_reason,
    degraded: row.status === 'enabled' && row.failing_since !== null && nowMs - row.failing_since.getTime() >= degradedAfterMs,
    failing_since: unixOrNull(row.failing_since),
    created: toUnixSeconds(row.created_at),
  };
}

export function toWebhookDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    object: 'webhook_delivery',
    endpoint: row.endpoint_id,
    event: { id: row.event_id, type: row.event_type as EventType },
    status: row.status,
    attempt_count: row.attempt_count,
    next_attempt: row.status === 'pending' && row.next_attempt_at ? toUnixSeconds(row.next_attempt_at) : null,
    created: toUnixSeconds(row.created_at),
    attempts: row.attempts.map((a) => ({ ...a })),
  };
}

export function toWebhookReplay(row: ReplayRow): WebhookReplay {
  return {
    id: row.id,
    object: 'webhook_replay',
    endpoint: row.endpoint_id,
    since: toUnixSeconds(row.since),
    until: toUnixSeconds(row.until),
    status: row.status,
    event_count: row.event_count,
    created: toUnixSeconds(row.created_at),
    completed: unixOrNull(row.completed_at),
  };
}
