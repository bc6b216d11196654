/**
 * What the generators read of the spec, and how they name an operation: the SDK's method
 * (`client.v2.payments.create`) and the CLI's command (`remit v2 payments create`) come from the
 * same placement, so the two never disagree.
 */

export type Ref = { $ref: string };

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  schema?: unknown;
}

export interface OperationObject {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: (ParameterObject | Ref)[];
  requestBody?: { required?: boolean } | Ref;
  responses?: Record<string, unknown>;
  security?: Record<string, string[]>[];
  deprecated?: boolean;
  'x-deprecated-at'?: string;
  'x-sunset'?: string;
  'x-successor'?: string;
  /** The SDK method's name, where the one derived from the operationId would read badly. */
  'x-sdk-method'?: string;
}

export interface TagObject {
  name: string;
  description?: string;
  /** The SDK namespace of the tag's operations (`payments`); a tag without one has no SDK methods. */
  'x-sdk-resource'?: string;
  /** The version the namespace sits under (`v2`: `client.v2.payments`). */
  'x-sdk-version'?: string;
}

export interface OpenApiDocument {
  tags?: TagObject[];
  paths: Record<string, Record<string, unknown> & { parameters?: (ParameterObject | Ref)[] }>;
  components?: {
    parameters?: Record<string, ParameterObject>;
    requestBodies?: Record<string, { required?: boolean }>;
    schemas?: Record<string, unknown>;
  };
  security?: Record<string, string[]>[];
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

export function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `createCustomer` on resource `customers` → `create`; `listApiKeys` on `apiKeys` → `list`. */
export function sdkMethodName(operationId: string, resource: string): string {
  const plural = upperFirst(resource);
  const singular = plural.replace(/s$/, '');
  for (const noun of [plural, singular]) {
    if (operationId.endsWith(noun) && operationId.length > noun.length) return operationId.slice(0, -noun.length);
  }
  const idx = operationId.indexOf(singular);
  if (idx > 0) return lowerFirst(operationId.slice(0, idx) + operationId.slice(idx + singular.length));
  return operationId;
}

/** Where an operation sits: `client.<resource>.<method>`, or `client.<version>.<resource>.<method>`. */
export interface Placement {
  readonly version: string | null;
  readonly resource: string;
  readonly method: string;
}

/**
 * An operation's place under its resource: its `x-sdk-method`, else the name its operationId gives
 * without the resource's noun and the version's suffix (`createPaymentV2` under `v2` → `create`).
 */
export function placementOf(operationId: string, sdkMethod: string | undefined, resource: string, version: string | null): Placement {
  const suffix = version ? upperFirst(version) : '';
  const bare = suffix && operationId.endsWith(suffix) ? operationId.slice(0, -suffix.length) : operationId;
  return { version, resource, method: sdkMethod ?? sdkMethodName(bare, resource) };
}

/** `rotateSecret` → `rotate-secret`, `capture_method` → `capture-method`, `API keys` → `api-keys`. */
export function kebab(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[\s_]+/g, '-')
    .toLowerCase();
}
