/** Security requirements, on an operation and document-wide. */
import type { Json, JsonObject } from '../src/json.js';
import { OK, spec } from './build.js';
import type { RuleCase } from './rule-case.js';

const SCHEMES = { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' }, oauth: { type: 'oauth2', flows: {} }, mtls: { type: 'mutualTLS' } } };

/** GET /things with its own `security` (undefined: it inherits the document's). */
function operation(security: Json | undefined, global?: Json): JsonObject {
  return spec({ '/things': { get: { responses: OK, ...(security === undefined ? {} : { security }) } } }, SCHEMES, global === undefined ? {} : { security: global });
}

const AT_OP = { method: 'GET', path: '/things' } as const;
const AT_GLOBAL = { pointer: '/security' } as const;

export const SECURITY_CASES: RuleCase[] = [
  {
    rule: 'api-security-added',
    level: 'breaking',
    change: 'an anonymous operation now requires an API key',
    base: operation([]),
    revision: operation([{ apiKey: [] }]),
    at: AT_OP,
    additive: { change: 'the operation becomes anonymous', expect: 'api-security-relaxed' },
  },
  {
    rule: 'api-security-added',
    level: 'breaking',
    change: 'mutual TLS joins the API key requirement',
    base: operation([{ apiKey: [] }]),
    revision: operation([{ apiKey: [], mtls: [] }]),
    at: AT_OP,
    additive: { change: 'mutual TLS is dropped from it', expect: 'api-security-relaxed' },
  },
  {
    rule: 'api-security-removed',
    level: 'breaking',
    change: 'OAuth is no longer accepted beside the API key',
    base: operation([{ apiKey: [] }, { oauth: [] }]),
    revision: operation([{ apiKey: [] }]),
    at: { ...AT_OP, document: 'base' },
    additive: { change: 'OAuth is accepted again', expect: 'api-security-relaxed' },
  },
  {
    rule: 'api-security-scope-added',
    level: 'breaking',
    change: 'the operation needs the write scope as well as read',
    base: operation([{ oauth: ['read'] }]),
    revision: operation([{ oauth: ['read', 'write'] }]),
    at: AT_OP,
    additive: { change: 'the write scope is dropped', expect: 'api-security-scope-removed' },
  },
  { rule: 'api-security-scope-removed', level: 'info', change: 'the write scope is dropped', base: operation([{ oauth: ['read', 'write'] }]), revision: operation([{ oauth: ['read'] }]), at: AT_OP },
  { rule: 'api-security-relaxed', level: 'info', change: 'OAuth is accepted beside the API key', base: operation([{ apiKey: [] }]), revision: operation([{ apiKey: [] }, { oauth: [] }]), at: AT_OP },
  {
    rule: 'api-security-added',
    level: 'breaking',
    change: 'an operation that overrode security with [] starts inheriting the document-wide API key',
    base: operation([], [{ apiKey: [] }]),
    revision: operation(undefined, [{ apiKey: [] }]),
    at: AT_OP,
  },
  {
    rule: 'api-global-security-added',
    level: 'breaking',
    change: 'the document starts requiring an API key',
    base: operation(undefined),
    revision: operation(undefined, [{ apiKey: [] }]),
    at: AT_GLOBAL,
    additive: { change: 'the document-wide requirement is dropped', expect: 'api-global-security-relaxed' },
  },
  {
    rule: 'api-global-security-removed',
    level: 'breaking',
    change: 'the document no longer accepts OAuth',
    base: operation(undefined, [{ apiKey: [] }, { oauth: [] }]),
    revision: operation(undefined, [{ apiKey: [] }]),
    at: { ...AT_GLOBAL, document: 'base' },
    additive: { change: 'OAuth is accepted again', expect: 'api-global-security-relaxed' },
  },
  {
    rule: 'api-global-security-scope-added',
    level: 'breaking',
    change: 'the document-wide OAuth requirement needs another scope',
    base: operation(undefined, [{ oauth: ['read'] }]),
    revision: operation(undefined, [{ oauth: ['read', 'admin'] }]),
    at: AT_GLOBAL,
    additive: { change: 'the scope is dropped', expect: 'api-global-security-scope-removed' },
  },
  { rule: 'api-global-security-scope-removed', level: 'info', change: 'a document-wide scope is dropped', base: operation(undefined, [{ oauth: ['read', 'admin'] }]), revision: operation(undefined, [{ oauth: ['read'] }]), at: AT_GLOBAL },
  { rule: 'api-global-security-relaxed', level: 'info', change: 'the document also accepts OAuth', base: operation(undefined, [{ apiKey: [] }]), revision: operation(undefined, [{ apiKey: [] }, { oauth: [] }]), at: AT_GLOBAL },
];
