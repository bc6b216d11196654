/**
 * The spec lint of scripts/spec-rules.ts (run by `make lint-spec`): the repo's spec keeps every
 * rule, and a violation of each rule, planted in a copy of the spec, is reported where it is.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { checkSpecRules } from '../../scripts/spec-rules.js';
import { loadSpec } from '../../src/platform/spec.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('spec rules (bounded, shaped requests)', () => {
  it('finds nothing in spec/openapi.yaml', () => {
    expect(checkSpecRules(loadSpec())).to.deep.equal([]);
  });

  const plants: { rule: string; at: string; plant: (doc: Json) => void }[] = [
    {
      rule: 'array-bounded',
      at: 'createApiKey body/scopes',
      plant: (doc) => delete doc.components.schemas.ApiKeyCreateRequest.properties.scopes.maxItems,
    },
    {
      rule: 'string-bounded',
      at: 'createCustomer body/description',
      plant: (doc) => delete doc.components.schemas.CustomerCreateRequest.properties.description.maxLength,
    },
    {
      rule: 'string-shaped',
      at: 'createPayment body/description',
      plant: (doc) => delete doc.components.schemas.PaymentCreateRequest.properties.description.pattern,
    },
    {
      rule: 'object-bounded',
      at: 'createCustomer body/metadata',
      plant: (doc) => delete doc.components.schemas.Metadata.maxProperties,
    },
    {
      rule: 'string-bounded',
      at: 'listCustomers query:email',
      plant: (doc) => delete doc.paths['/v1/customers'].get.parameters.find((p: Json) => p.name === 'email').schema.maxLength,
    },
    {
      rule: 'array-bounded',
      at: 'createCustomer body/tags',
      plant: (doc) => (doc.components.schemas.CustomerCreateRequest.properties.tags = { type: 'array', items: { type: 'string', enum: ['a'] } }),
    },
  ];

  for (const { rule, at, plant } of plants) {
    it(`reports ${rule} at ${at} when it is planted`, () => {
      const doc = loadSpec() as unknown as Json;
      plant(doc);
      expect(checkSpecRules(doc)).to.deep.include({ rule, at });
    });
  }

  it('fails `tsx scripts/spec-rules.ts` on a planted violation, naming it, and passes on the repo spec', async function () {
    this.timeout(30_000);
    const run = promisify(execFile);
    const ok = await run('npx', ['tsx', 'scripts/spec-rules.ts'], { cwd: ROOT });
    expect(ok.stdout).to.include('every request string, array and open object is bounded');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spec-rules-'));
    try {
      const doc = loadSpec() as unknown as Json;
      delete doc.components.schemas.ApiKeyCreateRequest.properties.scopes.maxItems;
      const file = path.join(dir, 'openapi.yaml');
      await writeFile(file, stringify(doc));
      const failed = await run('npx', ['tsx', 'scripts/spec-rules.ts', file], { cwd: ROOT }).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).to.equal(1);
      expect(failed?.stderr).to.include('array-bounded: createApiKey body/scopes');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
