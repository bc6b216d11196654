/**
 * PostgreSQL `text` cannot hold U+0000: a NUL that reached a query would fail there, as a 500.
 * It is never meaningful in this API's strings, so any NUL in the path, query or body is a 400
 * that names where it is, before anything reaches the database.
 */
import type { RequestHandler } from 'express';
import { AppError, type FieldError } from '../errors.js';

const MAX_DEPTH = 64;

function findNul(value: unknown, path: string, out: FieldError[], depth = 0): void {
  if (out.length >= 10 || depth > MAX_DEPTH) return;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push({ path, message: 'must not contain the NUL character (U+0000)' });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => findNul(v, `${path}/${i}`, out, depth + 1));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) out.push({ path: `${path}/${k.replace(/\u0000/g, '\\u0000')}`, message: 'property names must not contain the NUL character (U+0000)' });
      findNul(v, `${path}/${k}`, out, depth + 1);
    }
  }
}

export function rejectNul(): RequestHandler {
  return (req, _res, next) => {
    const errors: FieldError[] = [];
    findNul(req.params, '/params', errors);
    findNul(req.query, '/query', errors);
    findNul(req.body, '/body', errors);
    if (errors.length > 0) {
      throw new AppError('validation_failed', errors.map((e) => `${e.path} ${e.message}`).join('; '), { errors });
    }
    next();
  };
}
