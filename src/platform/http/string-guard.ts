/**
 * Strings PostgreSQL cannot store as sent are refused before they reach it, as a 400 that names
 * where they are:
 * - U+0000: `text` cannot hold it, so the query would fail (a 500);
 * - a lone UTF-16 surrogate (`"\ud800"` in JSON): it would be stored as U+FFFD, silently
 *   changing the caller's data.
 */
import type { RequestHandler } from 'express';
import { AppError, type FieldError } from '../errors.js';

const MAX_DEPTH = 64;

function findUnstorable(value: unknown, path: string, out: FieldError[], depth = 0): void {
  if (out.length >= 10 || depth > MAX_DEPTH) return;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push({ path, message: 'must not contain the NUL character (U+0000)' });
    else if (!value.isWellFormed()) out.push({ path, message: 'must be well-formed Unicode (no lone surrogates)' });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => findUnstorable(v, `${path}/${i}`, out, depth + 1));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      // Named as a JSON pointer token (RFC 6901), with what cannot be shown replaced by U+FFFD.
      const token = k.replace(/\u0000/g, '\ufffd').toWellFormed().replace(/~/g, '~0').replace(/\//g, '~1');
      if (k.includes('\u0000') || !k.isWellFormed()) {
        out.push({ path: `${path}/${token}`, message: 'property names must be well-formed Unicode without U+0000' });
      }
      findUnstorable(v, `${path}/${token}`, out, depth + 1);
    }
  }
}

export function rejectUnstorableStrings(): RequestHandler {
  return (req, _res, next) => {
    const errors: FieldError[] = [];
    findUnstorable(req.params, '/params', errors);
    findUnstorable(req.query, '/query', errors);
    findUnstorable(req.body, '/body', errors);
    if (errors.length > 0) {
      throw new AppError('validation_failed', errors.map((e) => `${e.path} ${e.message}`).join('; '), { errors });
    }
    next();
  };
}
