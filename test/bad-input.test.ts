/**
 * Hostile and malformed input: every malformed request is a 4xx `application/problem+json` that
 * carries the request id, leaks nothing internal and changes nothing in the database. Requests that
 * only look hostile (SQL in a filter, markup in a name) are valid input: they are answered
 * normally, stored verbatim, and leak nothing.
 *
 * The table of malformed requests covers missing, unknown and wrongly typed fields, values beyond
 * their bounds, NUL bytes and lone surrogates, bodies that are not a JSON object, truncated, deeply
 * nested, oversized, wrongly encoded or of another media type, bad ids in paths, bad list filters,
 * and bad API key and account creations; a validation failure names the offending field.
 * `__proto__` and `constructor` metadata keys are stored as plain keys, polluting no prototype.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { ErrorCode } from '../src/platform/errors.js';
import { ADMIN_TOKEN, createTestApp, snapshot, type TestAccount, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

interface BadInputCase {
  /** What is wrong with the request; the test is named "rejects <name> with <status> <code> …". */
  readonly name: string;
  readonly method: Method;
  /** `{cus}` is replaced by the id of a customer that exists in the calling account. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer is sent as is, as `contentType`. */
  readonly body?: unknown;
  /** Defaults to application/json for a raw body. */
  readonly contentType?: string;
  readonly expectedStatus: number;
  readonly expectedCode: ErrorCode;
  /** For validation_failed: a path that `errors` must name. */
  readonly errorPath?: string;
}

const BODY_LIMIT = 64 * 1024;
const long = (n: number, c = 'a') => c.repeat(n);
const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const fiftyOneKeys = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
const deeplyNested = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

const cases: BadInputCase[] = [
  // ── POST /v1/customers: missing required fields, wrong types, constraints ────────────────────
  { name: 'a customer without email', method: 'post', path: '/v1/customers', body: { name: 'No email' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an empty customer object', method: 'post', path: '/v1/customers', body: {}, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an email that is a number', method: 'post', path: '/v1/customers', body: { email: 12345 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an email that is null', method: 'post', path: '/v1/customers', body: { email: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an email that is not an email address', method: 'post', path: '/v1/customers', body: { email: 'not-an-email' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an email containing a newline (header injection)', method: 'post', path: '/v1/customers', body: { email: 'ada@example.com\r\nBcc: victim@example.com' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an email longer than 320 characters', method: 'post', path: '/v1/customers', body: { email: `${long(400)}@example.com` }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'a name that is a number', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', name: 42 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'a name that is an operator object ({"$gt": ""})', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', name: { $gt: '' } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an empty name', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', name: '' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'a name longer than 256 characters', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', name: long(257) }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'a phone with letters', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', phone: 'call me maybe' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/phone' },
  { name: 'a description longer than 1000 characters', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', description: long(1001) }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/description' },
  { name: 'metadata that is an array', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: ['a', 'b'] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'metadata that is a string', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: 'tier=gold' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'metadata that is null', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'a metadata value that is a number', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: { tier: 1 } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/tier' },
  { name: 'a metadata value longer than 500 characters', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: { note: long(501) } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/note' },
  { name: 'metadata with 51 keys', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: fiftyOneKeys }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'a metadata key longer than 40 characters', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: { [long(41, 'k')]: 'v' } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'a metadata key with forbidden characters', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: { "a'; drop table customers; --": 'v' } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'an empty metadata key', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: { '': 'v' } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'deeply nested JSON in metadata', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: deeplyNested(1000) }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/a' },
  { name: 'ten thousand nested arrays in metadata', method: 'post', path: '/v1/customers', body: `{"email":"n@example.com","metadata":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/a' },
  // Unknown fields (additionalProperties: false), including ones a client must never set.
  { name: 'an unknown customer field', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', nickname: 'Ada' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/nickname' },
  { name: 'a client-chosen customer id', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', id: 'cus_chosenbyclient' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/id' },
  { name: "another account's account_id", method: 'post', path: '/v1/customers', body: { email: 'n@example.com', account_id: 'acct_someoneelse' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/account_id' },
  { name: 'a __proto__ member', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com","__proto__":{"isAdmin":true}}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/__proto__' },
  { name: 'a duplicate key whose last value has the wrong type', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com","email":5}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  // NUL cannot be stored in PostgreSQL text or jsonb: it must be refused as input, not fail in SQL.
  { name: 'a NUL byte in a customer name', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', name: 'Ada\u0000Lovelace' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'a NUL byte in a customer description', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', description: '\u0000' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/description' },
  { name: 'a NUL byte in a metadata value', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', metadata: { note: 'a\u0000b' } }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/note' },
  { name: 'a NUL byte in an email', method: 'post', path: '/v1/customers', body: { email: 'ada\u0000@example.com' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },

  // ── Bodies that are not a JSON object ────────────────────────────────────────────────────────
  { name: 'a body that is JSON null', method: 'post', path: '/v1/customers', body: 'null', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'a body that is a JSON array', method: 'post', path: '/v1/customers', body: '[{"email":"n@example.com"}]', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body' },
  { name: 'a body that is a bare JSON string', method: 'post', path: '/v1/customers', body: '"x"', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'a body that is a bare JSON number', method: 'post', path: '/v1/customers', body: '42', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'truncated JSON', method: 'post', path: '/v1/customers', body: '{"email": "n@exa', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'JSON with trailing garbage', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com"} DROP TABLE customers', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'JSON with single-quoted strings', method: 'post', path: '/v1/customers', body: "{'email': 'n@example.com'}", expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'a UTF-8 BOM followed by truncated JSON', method: 'post', path: '/v1/customers', body: '\uFEFF{"email":', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'ten thousand nested arrays as the body', method: 'post', path: '/v1/customers', body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body' },
  { name: 'a gzip Content-Encoding on a body that is not gzip', method: 'post', path: '/v1/customers', headers: { 'Content-Encoding': 'gzip' }, body: '{"email":"n@example.com"}', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'a br Content-Encoding on a body that is not brotli', method: 'post', path: '/v1/customers', headers: { 'Content-Encoding': 'br' }, body: '{"email":"n@example.com"}', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'a metadata member whose name is a lone surrogate', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com","metadata":{"\\ud800":"x"}}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/\ufffd' },
  { name: 'a nested lone-surrogate name under one', method: 'patch', path: '/v1/customers/{cus}', body: '{"metadata":{"\\udc00":{"\\ud800":1}}}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata/\ufffd' },
  { name: 'an unknown Content-Encoding', method: 'post', path: '/v1/customers', headers: { 'Content-Encoding': 'x-rot13' }, body: '{"email":"n@example.com"}', expectedStatus: 415, expectedCode: 'unsupported_media_type' },

  // ── Size and media type ──────────────────────────────────────────────────────────────────────
  { name: 'a body over the 64 KiB limit', method: 'post', path: '/v1/customers', body: { email: 'n@example.com', description: long(BODY_LIMIT + 1024) }, expectedStatus: 413, expectedCode: 'payload_too_large' },
  { name: 'a JSON body sent as text/plain', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com"}', contentType: 'text/plain', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'a form-encoded body', method: 'post', path: '/v1/customers', body: 'email=n%40example.com', contentType: 'application/x-www-form-urlencoded', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'an XML body', method: 'post', path: '/v1/customers', body: '<customer><email>n@example.com</email></customer>', contentType: 'application/xml', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'JSON declared as charset=utf-16', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com"}', contentType: 'application/json; charset=utf-16', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'JSON declared as charset=utf-7', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com"}', contentType: 'application/json; charset=utf-7', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'JSON declared as charset=latin1', method: 'post', path: '/v1/customers', body: '{"email":"n@example.com"}', contentType: 'application/json; charset=latin1', expectedStatus: 415, expectedCode: 'unsupported_media_type' },

  // ── PATCH /v1/customers/{id} ─────────────────────────────────────────────────────────────────
  { name: 'an empty update', method: 'patch', path: '/v1/customers/{cus}', body: {}, expectedStatus: 400, expectedCode: 'validation_failed' },
  { name: 'an update that clears the required email', method: 'patch', path: '/v1/customers/{cus}', body: { email: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an update with an invalid email', method: 'patch', path: '/v1/customers/{cus}', body: { email: 'nobody@' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/email' },
  { name: 'an update with metadata null', method: 'patch', path: '/v1/customers/{cus}', body: { metadata: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'an update with metadata as an array', method: 'patch', path: '/v1/customers/{cus}', body: { metadata: [{ tier: 'gold' }] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/metadata' },
  { name: 'an update with an empty name', method: 'patch', path: '/v1/customers/{cus}', body: { name: '' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an update with a phone that is a number', method: 'patch', path: '/v1/customers/{cus}', body: { phone: 5550100 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/phone' },
  { name: 'an update of the read-only created field', method: 'patch', path: '/v1/customers/{cus}', body: { created: 0 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/created' },
  { name: 'an update that sets deleted_at', method: 'patch', path: '/v1/customers/{cus}', body: { name: 'Valid', deleted_at: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/deleted_at' },
  { name: 'an update with a NUL byte in the description', method: 'patch', path: '/v1/customers/{cus}', body: { description: 'before\u0000after' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/description' },
  { name: 'an update with truncated JSON', method: 'patch', path: '/v1/customers/{cus}', body: '{"name":', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'an update that is a JSON array', method: 'patch', path: '/v1/customers/{cus}', body: '[]', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body' },
  { name: 'an update over the 64 KiB limit', method: 'patch', path: '/v1/customers/{cus}', body: { description: long(BODY_LIMIT + 1024) }, expectedStatus: 413, expectedCode: 'payload_too_large' },
  { name: 'an update sent as text/plain', method: 'patch', path: '/v1/customers/{cus}', body: '{"name":"Plain"}', contentType: 'text/plain', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'an update of a customer that does not exist', method: 'patch', path: '/v1/customers/cus_doesnotexist', body: { name: 'Ghost' }, expectedStatus: 404, expectedCode: 'resource_not_found' },

  // ── Bad ids in paths ─────────────────────────────────────────────────────────────────────────
  { name: 'a customer id with symbols', method: 'get', path: '/v1/customers/cus_abc$def', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a customer id with nothing after the prefix', method: 'get', path: '/v1/customers/cus_', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a url-encoded ../etc/passwd as a customer id', method: 'get', path: `/v1/customers/${encodeURIComponent('../../etc/passwd')}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a customer id longer than 64 characters', method: 'get', path: `/v1/customers/cus_${long(65)}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a pay_ id on the customers route', method: 'get', path: '/v1/customers/pay_3mfdbXbC2SoUEyMbGSsbgE', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'an SQL injection in the customer id', method: 'get', path: `/v1/customers/${encodeURIComponent("cus_1' OR '1'='1")}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a malformed percent-encoding in the customer id', method: 'get', path: '/v1/customers/cus_%E0%A4%A', expectedStatus: 400, expectedCode: 'validation_failed' },
  { name: 'a retrieve of a customer that does not exist', method: 'get', path: '/v1/customers/cus_doesnotexist', expectedStatus: 404, expectedCode: 'resource_not_found' },
  { name: 'a delete with an SQL injection in the customer id', method: 'delete', path: `/v1/customers/${encodeURIComponent("cus_1'; DELETE FROM customers; --")}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a delete with a NUL byte in the customer id', method: 'delete', path: '/v1/customers/cus_abc%00', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a delete with a key_ id on the customers route', method: 'delete', path: '/v1/customers/key_3mfdbXbC2SoUEyMbGSsbgE', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a delete of a customer that does not exist', method: 'delete', path: '/v1/customers/cus_doesnotexist', expectedStatus: 404, expectedCode: 'resource_not_found' },
  { name: 'a PUT on a customer', method: 'put', path: '/v1/customers/{cus}', body: { email: 'put@example.com' }, expectedStatus: 405, expectedCode: 'method_not_allowed' },
  { name: 'a POST under a customer to an unknown sub-resource', method: 'post', path: '/v1/customers/{cus}/merge', body: { into: 'cus_x' }, expectedStatus: 404, expectedCode: 'route_not_found' },

  // ── GET /v1/customers query parameters ───────────────────────────────────────────────────────
  { name: 'a limit that is not a number', method: 'get', path: '/v1/customers?limit=abc', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a limit that is not an integer', method: 'get', path: '/v1/customers?limit=1.5', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a limit of 0', method: 'get', path: '/v1/customers?limit=0', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a limit of 101', method: 'get', path: '/v1/customers?limit=101', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a negative limit', method: 'get', path: '/v1/customers?limit=-1', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a limit given twice', method: 'get', path: '/v1/customers?limit=1&limit=2', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'an unknown query parameter', method: 'get', path: '/v1/customers?include_deleted=true', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/include_deleted' },
  { name: 'created[gte] that is not an integer', method: 'get', path: '/v1/customers?created[gte]=yesterday', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/created/gte' },
  { name: 'created[gte] that is negative', method: 'get', path: '/v1/customers?created[gte]=-1', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/created/gte' },
  { name: 'created[lt] past year 9999', method: 'get', path: '/v1/customers?created[lt]=253402300800', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/created/lt' },
  { name: 'an unknown created[foo] bound', method: 'get', path: '/v1/customers?created[foo]=1', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/created/foo' },
  { name: 'created given as a scalar', method: 'get', path: '/v1/customers?created=1', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/created' },
  { name: 'a cursor with characters outside base64url', method: 'get', path: `/v1/customers?cursor=${encodeURIComponent("abc' OR 1=1 --")}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/cursor' },
  { name: 'an empty cursor', method: 'get', path: '/v1/customers?cursor=', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/cursor' },
  { name: 'a cursor longer than 512 characters', method: 'get', path: `/v1/customers?cursor=${long(513, 'A')}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/cursor' },
  { name: 'a cursor that is not base64 JSON', method: 'get', path: '/v1/customers?cursor=bm90LWpzb24', expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a cursor issued by the API keys list', method: 'get', path: `/v1/customers?cursor=${b64json({ l: 'api_keys', t: '2026-01-01T00:00:00.000Z', i: 'key_x' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged cursor with an invalid date', method: 'get', path: `/v1/customers?cursor=${b64json({ l: 'customers', t: "2026-01-01'; DROP TABLE customers; --", i: 'cus_x' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged cursor with an over-long id', method: 'get', path: `/v1/customers?cursor=${b64json({ l: 'customers', t: '2026-01-01T00:00:00.000Z', i: long(101) })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged cursor with a NUL byte in its id', method: 'get', path: `/v1/customers?cursor=${b64json({ l: 'customers', t: '2026-01-01T00:00:00.000Z', i: 'cus_\u0000' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'a forged cursor with a date PostgreSQL cannot represent', method: 'get', path: `/v1/customers?cursor=${b64json({ l: 'customers', t: '-271821-04-20T00:00:00.000Z', i: 'cus_x' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },
  { name: 'an email filter longer than 320 characters', method: 'get', path: `/v1/customers?email=${long(321)}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/email' },
  { name: 'an email filter given twice', method: 'get', path: '/v1/customers?email=a%40example.com&email=b%40example.com', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/email' },
  { name: 'an email filter with a NUL byte', method: 'get', path: '/v1/customers?email=existing%00%40example.com', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/email' },

  // ── /v1/api_keys ─────────────────────────────────────────────────────────────────────────────
  { name: 'a key without scopes', method: 'post', path: '/v1/api_keys', body: { name: 'No scopes' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/scopes' },
  { name: 'a key with an empty scopes array', method: 'post', path: '/v1/api_keys', body: { scopes: [] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/scopes' },
  { name: "a key with the unknown scope 'admin'", method: 'post', path: '/v1/api_keys', body: { scopes: ['read', 'admin'] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/scopes/1' },
  { name: 'a key with duplicate scopes', method: 'post', path: '/v1/api_keys', body: { scopes: ['read', 'read'] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/scopes' },
  { name: 'a key with scopes as a string', method: 'post', path: '/v1/api_keys', body: { scopes: 'read write' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/scopes' },
  { name: 'a key with a null scope', method: 'post', path: '/v1/api_keys', body: { scopes: [null] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/scopes/0' },
  { name: 'a key name longer than 200 characters', method: 'post', path: '/v1/api_keys', body: { name: long(201), scopes: ['read'] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'a key with a client-chosen secret', method: 'post', path: '/v1/api_keys', body: { scopes: ['read'], secret: 'sk_chosen_byclient' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/secret' },
  { name: "a key for another account's account_id", method: 'post', path: '/v1/api_keys', body: { scopes: ['read'], account_id: 'acct_someoneelse' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/account_id' },
  { name: 'a key with a NUL byte in its name', method: 'post', path: '/v1/api_keys', body: { name: 'ci\u0000key', scopes: ['read'] }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'a key request sent as text/plain', method: 'post', path: '/v1/api_keys', body: '{"scopes":["read"]}', contentType: 'text/plain', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'a revoke of a key id with symbols', method: 'delete', path: '/v1/api_keys/key_!!', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a revoke of a key id longer than 64 characters', method: 'delete', path: `/v1/api_keys/key_${long(65)}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a revoke with a cus_ id on the keys route', method: 'delete', path: '/v1/api_keys/{cus}', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a revoke with an SQL injection in the key id', method: 'delete', path: `/v1/api_keys/${encodeURIComponent("key_1' OR '1'='1")}`, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/params/id' },
  { name: 'a revoke of a key that does not exist', method: 'delete', path: '/v1/api_keys/key_doesnotexist', expectedStatus: 404, expectedCode: 'resource_not_found' },
  { name: 'a key list with a non-numeric limit', method: 'get', path: '/v1/api_keys?limit=ten', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/query/limit' },
  { name: 'a key list with a cursor issued by the customers list', method: 'get', path: `/v1/api_keys?cursor=${b64json({ l: 'customers', t: '2026-01-01T00:00:00.000Z', i: 'cus_x' })}`, expectedStatus: 400, expectedCode: 'invalid_cursor' },

  // ── POST /admin/accounts ─────────────────────────────────────────────────────────────────────
  { name: 'an account without a name', method: 'post', path: '/admin/accounts', body: {}, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an account with an empty name', method: 'post', path: '/admin/accounts', body: { name: '' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an account name longer than 200 characters', method: 'post', path: '/admin/accounts', body: { name: long(201) }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an account name that is a number', method: 'post', path: '/admin/accounts', body: { name: 7 }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an account name that is null', method: 'post', path: '/admin/accounts', body: { name: null }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an account with an unknown field', method: 'post', path: '/admin/accounts', body: { name: 'Acme', plan: 'enterprise' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/plan' },
  { name: 'an account with a NUL byte in its name', method: 'post', path: '/admin/accounts', body: { name: 'Acme\u0000Corp' }, expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body/name' },
  { name: 'an account body that is a JSON array', method: 'post', path: '/admin/accounts', body: '[{"name":"Acme"}]', expectedStatus: 400, expectedCode: 'validation_failed', errorPath: '/body' },
  { name: 'an account body that is truncated JSON', method: 'post', path: '/admin/accounts', body: '{"name":"Ac', expectedStatus: 400, expectedCode: 'malformed_json' },
  { name: 'an account body sent as text/plain', method: 'post', path: '/admin/accounts', body: 'Acme', contentType: 'text/plain', expectedStatus: 415, expectedCode: 'unsupported_media_type' },
  { name: 'an account body over the 64 KiB limit', method: 'post', path: '/admin/accounts', body: { name: long(BODY_LIMIT + 1024) }, expectedStatus: 413, expectedCode: 'payload_too_large' },
];

describe('bad input', () => {
  let t: TestApp;
  let account: TestAccount;
  let existing: { id: string; email: string };

  before(async () => {
    t = await createTestApp({ bodyLimitBytes: BODY_LIMIT });
    account = await t.createAccount('Bad input account');
    const res = await request(t.app)
      .post('/v1/customers')
      .set('Authorization', `Bearer ${account.secret}`)
      .send({ email: 'existing@example.com', name: 'Existing', metadata: { tier: 'gold' } });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    existing = res.body;
  });
  after(() => t?.close());

  const auth = () => ({ Authorization: `Bearer ${account.secret}` });

  function send(c: BadInputCase, requestId: string): request.Test {
    const path = c.path.replace('{cus}', existing.id);
    let req = request(t.app)[c.method](path)
      .set('Authorization', `Bearer ${path.startsWith('/admin/') ? ADMIN_TOKEN : account.secret}`)
      .set('Request-Id', requestId);
    for (const [name, value] of Object.entries(c.headers ?? {})) req = req.set(name, value);
    if (c.body === undefined) return req;
    if (typeof c.body === 'string' || Buffer.isBuffer(c.body)) {
      return req.set('Content-Type', c.contentType ?? 'application/json').send(c.body);
    }
    if (c.contentType) req = req.set('Content-Type', c.contentType);
    return req.send(c.body as object);
  }

  it(`has at least 40 malformed-request cases with distinct names (${cases.length})`, () => {
    expect(cases.length).to.be.at.least(40);
    expect(new Set(cases.map((c) => c.name)).size).to.equal(cases.length);
  });

  describe('malformed requests', () => {
    cases.forEach((c, i) => {
      it(`rejects ${c.name} with ${c.expectedStatus} ${c.expectedCode} and changes nothing`, async () => {
        const requestId = `bad-input.${i}`;
        const before = await snapshot(t.db);
        const res = await send(c, requestId);
        expectProblem(res, c.expectedStatus, c.expectedCode);
        expect(res.body.request_id).to.equal(requestId);
        if (c.errorPath !== undefined) {
          expect(res.body.errors, JSON.stringify(res.body)).to.be.an('array');
          expect(res.body.errors.map((e: { path: string }) => e.path)).to.include(c.errorPath);
        }
        // Nothing about the existing customer leaks into an error.
        expect(res.text).not.to.include(existing.email);
        expect(await snapshot(t.db)).to.deep.equal(before);
      });
    });
  });

  describe('hostile-looking but valid input', () => {
    const hostileEmails = [
      "' OR '1'='1",
      "existing@example.com' OR '1'='1",
      "x@example.com'; DROP TABLE customers; --",
      "' UNION SELECT id, account_id, email, name, phone, description, metadata, created_at FROM customers --",
      '%',
      '%@example.com',
      '_xisting@example.com',
      'existing@example.com\\',
    ];
    for (const email of hostileEmails) {
      it(`answers the email filter ${JSON.stringify(email)} with 200 and an empty list, leaking nothing and changing nothing`, async () => {
        const before = await snapshot(t.db);
        const res = await request(t.app).get('/v1/customers').query({ email }).set(auth());
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        expect(res.headers['content-type']).to.match(/^application\/json/);
        expect(res.body).to.deep.equal({ object: 'list', data: [], has_more: false, next_cursor: null });
        expect(res.text).not.to.include(existing.id);
        expect(await snapshot(t.db)).to.deep.equal(before);
      });
    }

    it('still finds the existing customer by its exact email (the filter is not simply broken)', async () => {
      const res = await request(t.app).get('/v1/customers').query({ email: 'EXISTING@example.com' }).set(auth());
      expect(res.status).to.equal(200);
      expect(res.body.data.map((c: { id: string }) => c.id)).to.deep.equal([existing.id]);
    });

    it('stores an SQL-injection-looking name verbatim and changes no other row', async () => {
      const name = "Robert'); DROP TABLE customers; --";
      const before = await snapshot(t.db);
      const res = await request(t.app).post('/v1/customers').set(auth()).send({ email: 'bobby@example.com', name, description: "1' OR '1'='1" });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.name).to.equal(name);
      const after = await snapshot(t.db);
      expect(after.accounts).to.deep.equal(before.accounts);
      expect(after.api_keys).to.deep.equal(before.api_keys);
      const added = after.customers!.filter((row) => !before.customers!.some((b) => (b as { id: string }).id === (row as { id: string }).id));
      expect(added).to.have.length(1);
      expect(added[0]).to.include({ id: res.body.id, name, description: "1' OR '1'='1", account_id: account.id });
      expect(after.customers!.length).to.equal(before.customers!.length + 1);
    });

    it('stores a <script> name verbatim and returns it as JSON, unescaped and unexecuted', async () => {
      const name = '<script>alert("xss")</script><img src=x onerror=alert(1)>&amp;';
      const created = await request(t.app).post('/v1/customers').set(auth()).send({ email: 'xss@example.com', name, metadata: { note: '</script>' } });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.headers['content-type']).to.match(/^application\/json/);
      expect(created.body.name).to.equal(name);
      const row = await t.db('customers').where({ id: created.body.id }).first();
      expect(row.name).to.equal(name);
      expect(row.metadata).to.deep.equal({ note: '</script>' });
      const fetched = await request(t.app).get(`/v1/customers/${created.body.id}`).set(auth());
      expect(fetched.status).to.equal(200);
      expect(fetched.headers['content-type']).to.match(/^application\/json/);
      expect(fetched.body.name).to.equal(name);
      expect(fetched.body.metadata).to.deep.equal({ note: '</script>' });
      // The raw JSON carries the characters themselves, not HTML entities.
      expect(fetched.text).to.include(JSON.stringify(name));
      expect(fetched.text).not.to.include('&lt;');
    });

    it('stores __proto__ and constructor metadata keys as plain keys without polluting prototypes', async () => {
      const created = await request(t.app)
        .post('/v1/customers')
        .set(auth())
        .set('Content-Type', 'application/json')
        .send('{"email":"proto@example.com","metadata":{"__proto__":"polluted","constructor":"c"}}');
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(Object.keys(created.body.metadata).sort()).to.deep.equal(['__proto__', 'constructor']);
      expect(Object.keys(Object.prototype)).to.deep.equal([]);
      const row = await t.db('customers').where({ id: created.body.id }).first();
      expect(Object.keys(row.metadata).sort()).to.deep.equal(['__proto__', 'constructor']);
    });

    it('leaves the existing customer exactly as it was after every hostile request', async () => {
      const res = await request(t.app).get(`/v1/customers/${existing.id}`).set(auth());
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal(existing);
    });
  });
});
