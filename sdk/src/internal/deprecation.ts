/**
 * From an answer's headers to a `DeprecationNotice`, and what the client does with one when it
 * was given no `onDeprecation`: one warning per operation per process, through the runtime's
 * `warn` (`console.warn` by default), naming the sunset date and the successor.
 */
import { linkTarget, parseDeprecationDate, parseLinkHeader, parseSunsetDate, type DeprecationNotice } from '../core/deprecation.js';
import type { OperationSpec } from '../generated/resources.js';

/** The notice `response` carries for `spec`, or undefined when it carries no `Deprecation` field. */
export function deprecationNoticeOf(spec: OperationSpec, response: Response): DeprecationNotice | undefined {
  const deprecation = response.headers.get('deprecation');
  if (deprecation === null) return undefined;
  const sunset = response.headers.get('sunset');
  const link = response.headers.get('link');
  const links = parseLinkHeader(link);
  const successor = spec.deprecation?.successor;
  return {
    operationId: spec.operationId,
    method: spec.method,
    path: spec.path,
    status: response.status,
    deprecation: parseDeprecationDate(deprecation),
    sunset: parseSunsetDate(sunset),
    successor: {
      url: linkTarget(links, 'successor-version'),
      operationId: successor?.operationId,
      call: successor?.call,
    },
    link: linkTarget(links, 'deprecation'),
    headers: { deprecation, sunset, link },
  };
}

/** The operations warned about in this process, by operationId. */
const warned = new Set<string>();

/** Forgets which operations were warned about, so the next notice of each warns again. */
export function resetDeprecationWarnings(): void {
  warned.clear();
}

/** The default handling: `warn` once per operation per process. */
export function warnOncePerOperation(notice: DeprecationNotice, spec: OperationSpec, warn: (message: string) => void): void {
  if (warned.has(notice.operationId)) return;
  warned.add(notice.operationId);
  warn(deprecationMessage(notice, spec));
}

export function deprecationMessage(notice: DeprecationNotice, spec: OperationSpec): string {
  const sunset = notice.sunset ? notice.sunset.toISOString().slice(0, 10) : spec.deprecation?.sunset;
  const { url, operationId, call } = notice.successor;
  const instead = call
    ? `client.${call}()${operationId ? ` (${operationId}${url ? `, ${url}` : ''})` : ''}`
    : (operationId ?? url);
  return [
    `Remit: ${operationName(notice)} is deprecated`,
    sunset ? ` and stops answering on ${sunset} (its Sunset)` : '',
    instead ? `; use ${instead} instead` : '',
    notice.link ? `. See ${notice.link}` : '',
    '. Pass onDeprecation to the client to handle or silence this warning.',
  ].join('');
}

/** `createPayment (POST /v1/payments)`; an operation called by method and path is named by those alone. */
function operationName(notice: DeprecationNotice): string {
  const route = `${notice.method} ${notice.path}`;
  return notice.operationId === route ? route : `${notice.operationId} (${route})`;
}
