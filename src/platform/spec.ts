import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { OpenApiDocument } from './http/openapi-router.js';

export const SPEC_PATH = path.resolve(import.meta.dirname, '../../spec/openapi.yaml');

/** The hand-written contract, parsed. Each caller gets its own copy (the validator annotates it). */
export function loadSpec(file = SPEC_PATH): OpenApiDocument {
  return parseYaml(readFileSync(file, 'utf8')) as OpenApiDocument;
}
