/**
 * Problem `type` URIs resolve: each error code has a page served by the API itself (what it means,
 * what to do), generated from the catalogue the server answers from, and every problem document
 * links to it — under PUBLIC_URL when configured, else under the origin the request was sent to.
 */
import { expect } from 'chai';
import request from 'supertest';
import { errorCatalogue, type ErrorCode } from '../src/platform/errors.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { expectProblem } from './helpers/problem.js';

describe('problem type pages', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('links a problem to its page under the origin the request was sent to, and the page explains the code', async () => {
    const problem = await request(t.app).get('/v1/customers').set('Host', 'api.test:8443');
    expectProblem(problem, 401, 'authentication_required');
    expect(problem.body.type).to.equal('http://api.test:8443/problems/authentication_required');
    const page = await request(t.app).get(new URL(problem.body.type).pathname);
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    expect(page.text).to.include(errorCatalogue.authentication_required.title);
    expect(page.text).to.include('What to do');
  });

  it('never echoes a malformed Host into the link', async () => {
    const problem = await request(t.app).get('/v1/customers').set('Host', 'evil.test/<script>');
    expect(problem.body.type).to.equal('http://localhost/problems/authentication_required');
  });

  it('serves a page for every code in the catalogue, with its status, title, meaning and action', async () => {
    for (const code of Object.keys(errorCatalogue) as ErrorCode[]) {
      const res = await request(t.app).get(`/problems/${code}`);
      expect(res.status, code).to.equal(200);
      const entry = errorCatalogue[code];
      expect(res.text).to.include(`<code>${code}</code>`);
      expect(res.text).to.include(String(entry.status));
      // The page as a reader sees it: tags dropped, character references decoded.
      const visible = res.text.replace(/<[^>]+>/g, '').replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
      expect(visible, code).to.include(entry.meaning.replace(/`/g, ''));
      expect(visible, code).to.include(entry.action.replace(/`/g, ''));
    }
  });

  it('lists every code on /problems, each linked to its page', async () => {
    const res = await request(t.app).get('/problems');
    expect(res.status).to.equal(200);
    const linked = [...res.text.matchAll(/href="problems\/([a-z_]+)"/g)].map((m) => m[1]);
    expect(linked.sort()).to.deep.equal(Object.keys(errorCatalogue).sort());
  });

  it('answers an unknown code with a 404 problem', async () => {
    expectProblem(await request(t.app).get('/problems/no_such_code'), 404, 'resource_not_found');
  });

  it('uses PUBLIC_URL for the link when it is configured', async () => {
    const own = await createTestApp({ publicUrl: 'https://api.example.com/remit' });
    try {
      const problem = await request(own.app).get('/v1/nothing');
      expectProblem(problem, 404, 'route_not_found');
      expect(problem.body.type).to.equal('https://api.example.com/remit/problems/route_not_found');
    } finally {
      await own.close();
    }
  });
});
