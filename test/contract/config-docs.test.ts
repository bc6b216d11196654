/**
 * docs/configuration.md is the configuration schema, written out: the committed page equals what
 * scripts/config-docs.ts makes from src/platform/config.ts, every variable the schema reads is on
 * it, and a variable added to the schema without a description fails the generator.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CONFIG_DOC, configurationPage } from '../../scripts/config-docs.js';
import { CONFIG_SCHEMAS } from '../../src/platform/config.js';

describe('docs/configuration.md', () => {
  it('is what the configuration schema says (make generate writes it)', async () => {
    expect(await readFile(CONFIG_DOC, 'utf8')).to.equal(configurationPage());
  });

  it('lists every variable the API and the simulator read, once in its table', async () => {
    const [, api, simulator] = (await readFile(CONFIG_DOC, 'utf8')).split(/^## /m);
    for (const [table, schema] of [[api!, CONFIG_SCHEMAS.api], [simulator!, CONFIG_SCHEMAS.simulator]] as const) {
      for (const name of Object.keys(schema.shape)) expect(table.match(new RegExp(`^\\| \`${name}\` \\|`, 'gm')), name).to.have.length(1);
    }
  });

  it('says the default the schema applies', async () => {
    const page = await readFile(CONFIG_DOC, 'utf8');
    expect(page).to.match(/^\| `PORT` \| `8080` \|/m);
    expect(page).to.match(/^\| `RATE_LIMIT_WRITE` \| `200\/10s` \|/m);
  });

  it('refuses a variable without a description', () => {
    const undocumented = z.object({ ...CONFIG_SCHEMAS.api.shape, NEW_SETTING: z.string().optional() });
    const original = CONFIG_SCHEMAS.api;
    (CONFIG_SCHEMAS as { api: z.ZodObject }).api = undocumented;
    try {
      expect(() => configurationPage()).to.throw(/NEW_SETTING has no description/);
    } finally {
      (CONFIG_SCHEMAS as { api: z.ZodObject }).api = original;
    }
  });
});
