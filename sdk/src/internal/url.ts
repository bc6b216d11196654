/** Builds a request URL from an operation's path template, its path parameters and its query. */
import { RemitError } from '../core/errors.js';

export function buildURL(baseURL: string, template: string, pathParams: Record<string, string>, query?: object): string {
  const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = pathParams[name];
    // An empty id would turn `/v1/customers/{id}` into `/v1/customers/`: another operation.
    if (typeof value !== 'string' || value === '') throw new RemitError(`The path parameter \`${name}\` must be a non-empty string.`);
    return encodeURIComponent(value);
  });
  const search = encodeQuery(query);
  return `${baseURL}${path}${search ? `?${search}` : ''}`;
}

/**
 * Form-style query parameters; an object value is a `deepObject` (`created[gte]=…`), the style the
 * spec gives `created`. Undefined and null values are left out.
 */
export function encodeQuery(query: object | undefined): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const v of value) params.append(name, String(v));
    } else if (typeof value === 'object') {
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== undefined && v !== null) params.append(`${name}[${key}]`, String(v));
      }
    } else {
      params.append(name, String(value));
    }
  }
  return params.toString();
}
