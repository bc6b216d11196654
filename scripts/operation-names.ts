/** How operations are named in the SDK (`client.payments.create`) and on the command line (`remit payments create`). */

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** `createCustomer` on resource `customers` → `create`; `listApiKeys` on `apiKeys` → `list`. */
export function sdkMethodName(operationId: string, resource: string): string {
  const plural = resource.charAt(0).toUpperCase() + resource.slice(1);
  const singular = plural.replace(/s$/, '');
  for (const noun of [plural, singular]) {
    if (operationId.endsWith(noun) && operationId.length > noun.length) return operationId.slice(0, -noun.length);
  }
  const idx = operationId.indexOf(singular);
  if (idx > 0) return lowerFirst(operationId.slice(0, idx) + operationId.slice(idx + singular.length));
  return operationId;
}

/** `rotateSecret` → `rotate-secret`, `capture_method` → `capture-method`, `API keys` → `api-keys`. */
export function kebab(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[\s_]+/g, '-')
    .toLowerCase();
}
