import { expect } from 'chai';
import type { Response } from 'supertest';
import { errorCatalogue, type ErrorCode } from '../../src/platform/errors.js';

/** Asserts an RFC 9457 problem with the given status and code, carrying the request id. */
export function expectProblem(res: Response, status: number, code: ErrorCode): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
  expect(res.body.code).to.equal(code);
  expect(res.body.status).to.equal(status);
  expect(res.body.title).to.equal(errorCatalogue[code].title);
  expect(res.body.type).to.be.a('string').and.match(new RegExp(`/${code}$`));
  expect(res.body.request_id).to.be.a('string').and.equal(res.headers['request-id']);
  // Nothing internal leaks: no stack frames, no SQL. The request id is random base62 and may spell
  // anything, so it is left out of the scan.
  const { request_id: _requestId, ...rest } = res.body as Record<string, unknown>;
  const text = JSON.stringify(rest);
  expect(text).not.to.match(/\bat [\w.<>]+ \(|node_modules|select |insert into|update .* set |knex|pglite|ECONN/i);
}
