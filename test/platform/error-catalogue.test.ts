/**
 * The error catalogue the server answers from (src/platform/errors.ts) is the spec's: exactly the
 * codes of its ErrorCode enum, each with a distinct title and a 4xx or 5xx status that some
 * operation documents (except the route-level 404 and 405, raised before any operation is known).
 */
import { expect } from 'chai';
import { errorCatalogue } from '../../src/platform/errors.js';
import { loadSpec } from '../../src/platform/spec.js';

type Responses = Record<string, { $ref?: string; content?: Record<string, unknown> }>;

describe('error catalogue', () => {
  const spec = loadSpec() as unknown as {
    paths: Record<string, Record<string, { responses?: Responses }>>;
    components: { schemas: { ErrorCode: { enum: string[] } } };
  };

  it('lists exactly the codes the spec documents in ErrorCode', () => {
    expect(Object.keys(errorCatalogue).sort()).to.deep.equal([...spec.components.schemas.ErrorCode.enum].sort());
  });

  it('documents, on some operation, a problem response for the status of every code that an operation can raise', () => {
    // Route-level codes (no operation matched) are answered before any operation is known.
    const routeLevel = new Set(['route_not_found', 'method_not_allowed']);
    const documented = new Set<number>();
    for (const item of Object.values(spec.paths)) {
      for (const op of Object.values(item)) {
        for (const status of Object.keys(op.responses ?? {})) documented.add(Number(status));
      }
    }
    for (const [code, { status }] of Object.entries(errorCatalogue)) {
      if (routeLevel.has(code)) continue;
      expect(documented.has(status), `${code} (${status}) is not documented on any operation`).to.equal(true);
    }
  });

  it('gives every code a distinct title and a 4xx or 5xx status', () => {
    const titles = Object.values(errorCatalogue).map((e) => e.title);
    expect(new Set(titles).size).to.equal(titles.length);
    for (const { status } of Object.values(errorCatalogue)) expect(status).to.be.within(400, 599);
  });
});
