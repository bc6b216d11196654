/**
 * Writes docs/configuration.md from the configuration schemas of src/platform/config.ts: every
 * variable the API and the processor simulator read, its default and what it means, as the schema
 * says — so the page cannot drift from the code. Run by `make generate`; `--check` fails when the
 * committed page differs (`make generated-fresh`, and test/contract/config-docs.test.ts).
 *
 * Usage: tsx scripts/config-docs.ts [--check]
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { CONFIG_SCHEMAS } from '../src/platform/config.js';

const ROOT = path.resolve(import.meta.dirname, '..');
export const CONFIG_DOC = path.join(ROOT, 'docs/configuration.md');

interface Property {
  description?: string;
  defaultText?: string;
  default?: unknown;
  type?: string;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
}

function rows(schema: z.ZodObject): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, Property> };
  return Object.entries(json.properties).map(([name, p]) => {
    const dflt = p.defaultText ?? (p.default === undefined ? 'unset' : `\`${String(p.default)}\``);
    const range = p.type === 'integer' && p.minimum !== undefined && p.maximum !== undefined ? `; ${p.minimum} to ${p.maximum}` : '';
    if (!p.description) throw new Error(`${name} has no description in src/platform/config.ts`);
    return `| \`${name}\` | ${dflt} | ${p.description}${range} |`;
  });
}

export function configurationPage(): string {
  return [
    '<!-- Generated from src/platform/config.ts by scripts/config-docs.ts (make generate). Do not edit. -->',
    '',
    '# Configuration',
    '',
    'Every variable is optional for `npm start`. A value that is present but invalid stops start-up',
    'with a message that names the variable and says what would be accepted (e.g. `PORT must be a',
    'port number`); every problem is reported at once. With `NODE_ENV=production`, `DATABASE_URL`,',
    '`PROCESSOR_URL` and `ADMIN_TOKEN` are required, no demo account is created and no secret is',
    'printed. `src/platform/config.ts` is the only module that reads the environment.',
    '',
    '## The API (`npm start`)',
    '',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows(CONFIG_SCHEMAS.api),
    '',
    '## The processor simulator (`npm run processor`)',
    '',
    '| variable | default | meaning |',
    '|---|---|---|',
    ...rows(CONFIG_SCHEMAS.simulator),
    '',
    'Tools have knobs of their own, read the same way (scripts/harness/knobs.ts): the benchmarks in',
    '[`bench/README.md`](../bench/README.md), the retry storm in [`storm.md`](storm.md), the tests',
    'in [`testing.md`](testing.md).',
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const page = configurationPage();
  if (process.argv.includes('--check')) {
    const committed = await readFile(CONFIG_DOC, 'utf8').catch(() => '');
    if (committed !== page) {
      console.error('docs/configuration.md is stale against src/platform/config.ts: run `make generate`');
      process.exit(1);
    }
    console.log('docs/configuration.md is fresh');
  } else {
    await writeFile(CONFIG_DOC, page);
    console.log('wrote docs/configuration.md');
  }
}
