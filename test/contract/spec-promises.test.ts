/**
 * The spec says what the server refuses, so that a client generated from it, or a contract tester,
 * never sends a request the spec allows and the server turns away:
 * - the request body limit is in the document (`x-request-body-max-bytes`), equal to the server's
 *   default, and the server cannot be configured below it;
 * - every string a request may carry (parameter or body member, at any depth) states its shape: a
 *   `pattern`, `format`, `enum` or `const`; free text states the rule that refuses U+0000 and lone
 *   surrogates, and the server answers exactly that rule;
 * - an answer requires `Idempotent-Replayed` only where the operation takes an `Idempotency-Key`:
 *   elsewhere the server has nothing to say in it, and response validation would turn the answer
 *   into a 500.
 */
import { expect } from 'chai';
import request from 'supertest';
import { CONTRACT_BODY_LIMIT_BYTES, loadConfig } from '../../src/platform/config.js';
import { loadSpec, operationsOf as specOperations, resolveRef } from '../../src/platform/spec.js';
import { createTestApp, type TestAccount, type TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/problem.js';
import { checkSpecRules } from '../../scripts/spec-rules.js';
import { operationsOf, type Schema } from './fuzz/operations.js';

const TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$';

/** Every string node of a schema, with where it is. */
function stringsOf(schema: Schema, at: string, out: { at: string; schema: Schema }[] = []): { at: string; schema: Schema }[] {
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes('string')) out.push({ at, schema });
  for (const [name, member] of Object.entries(schema.properties ?? {})) stringsOf(member, `${at}/${name}`, out);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') stringsOf(schema.additionalProperties, `${at}/*`, out);
  if (schema.propertyNames) stringsOf({ type: 'string', ...schema.propertyNames }, `${at}/(names)`, out);
  if (schema.items) stringsOf(schema.items, `${at}/[]`, out);
  for (const part of [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])]) stringsOf(part, at, out);
  return out;
}

describe('the spec states what the server refuses', () => {
  it('requires Idempotent-Replayed only in the answers of operations that take an Idempotency-Key', () => {
    const spec = loadSpec();
    const wrong: string[] = [];
    for (const { operationId, operation, pathParameters } of specOperations<{ parameters?: unknown[]; responses?: Record<string, unknown> }>(spec)) {
      const parameters = [...pathParameters, ...(operation.parameters ?? [])].map((p) => resolveRef<{ name: string; in: string }>(spec, p));
      if (parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key')) continue;
      for (const [status, raw] of Object.entries(operation.responses ?? {})) {
        const headers = resolveRef<{ headers?: Record<string, unknown> }>(spec, raw).headers ?? {};
        const replayed = headers['Idempotent-Replayed'];
        if (replayed && resolveRef<{ required?: boolean }>(spec, replayed).required) wrong.push(`${operationId} ${status}`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('declares the request body limit the server reads by default, and the server cannot be set below it', () => {
    const declared = (loadSpec() as unknown as Record<string, unknown>)['x-request-body-max-bytes'];
    expect(declared).to.equal(CONTRACT_BODY_LIMIT_BYTES);
    expect(loadConfig({}).bodyLimitBytes).to.equal(declared);
    expect(() => loadConfig({ BODY_LIMIT_BYTES: String(CONTRACT_BODY_LIMIT_BYTES - 1) })).to.throw(/BODY_LIMIT_BYTES must be at least 65536/);
    expect(loadConfig({ BODY_LIMIT_BYTES: String(2 * CONTRACT_BODY_LIMIT_BYTES) }).bodyLimitBytes).to.equal(2 * CONTRACT_BODY_LIMIT_BYTES);
  });

  it('gives every string a request can carry a pattern, format, enum or const (the spec lint rule string-shaped)', () => {
    expect(checkSpecRules(loadSpec()).filter((v) => v.rule === 'string-shaped')).to.deep.equal([]);
  });

  describe('free text', () => {
    let t: TestApp;
    let account: TestAccount;
    before(async () => {
      t = await createTestApp();
      account = await t.createAccount();
    });
    after(() => t.close());

    it('is documented with the one rule the server applies', () => {
      const textFields = operationsOf()
        .filter((op) => op.requestBody)
        .flatMap((op) => stringsOf(op.requestBody!.schema, `${op.operationId} body`))
        .filter(({ schema }) => schema.pattern === TEXT_PATTERN);
      expect(textFields.map((f) => f.at)).to.include.members([
        'createCustomer body/name',
        'createCustomer body/description',
        'createCustomer body/metadata/*',
        'updateCustomer body/name',
        'createPayment body/description',
        'createApiKey body/name',
        'createAccount body/name',
      ]);
    });

    it('accepts every other character, astral ones included', async () => {
      const name = 'Ada Lovelace 🦄 Ωμέγα \u2028 tab\there';
      const res = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${account.secret}`).send({ email: 'uni@example.com', name });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.name).to.equal(name);
    });

    // The server's message is more specific than the pattern's; what matters is that the pattern
    // refuses exactly what the server refuses.
    for (const [what, text, message] of [
      ['U+0000', 'a\u0000b', 'must not contain the NUL character (U+0000)'],
      ['a lone high surrogate', 'a\ud800b', 'must be well-formed Unicode (no lone surrogates)'],
      ['a lone low surrogate', 'a\udc00b', 'must be well-formed Unicode (no lone surrogates)'],
    ] as const) {
      it(`refuses ${what}, as the documented pattern does, with 400 validation_failed naming the field`, async () => {
        expect(new RegExp(TEXT_PATTERN, 'u').test(text)).to.equal(false);
        const body = `{"email":"x@example.com","name":${JSON.stringify(text)}}`;
        const res = await request(t.app).post('/v1/customers').set('Authorization', `Bearer ${account.secret}`).set('Content-Type', 'application/json').send(body);
        expectProblem(res, 400, 'validation_failed');
        expect(res.body.errors).to.deep.include({ path: '/body/name', message });
      });
    }

    it('has a documented pattern that accepts every other character', () => {
      const pattern = new RegExp(TEXT_PATTERN, 'u');
      expect(['', 'plain', '🦄', 'Ωμέγα', '\u2028'].every((s) => pattern.test(s))).to.equal(true);
    });
  });

  it('says the limit and the setting in a 413', async () => {
    const t = await createTestApp();
    try {
      const account = await t.createAccount();
      const res = await request(t.app)
        .post('/v1/customers')
        .set('Authorization', `Bearer ${account.secret}`)
        .send({ email: 'big@example.com', description: 'x'.repeat(CONTRACT_BODY_LIMIT_BYTES) });
      expectProblem(res, 413, 'payload_too_large');
      expect(res.body.detail).to.match(/limited to 65536 bytes on this server \(BODY_LIMIT_BYTES\)\. The body is \d+ bytes\./);
    } finally {
      await t.close();
    }
  });
});
