/**
 * The request body parser: JSON, bounded in size, and UTF-8 only — and, for an operation whose spec
 * declares it (the OAuth token endpoint, RFC 6749 §4.4.2), an `application/x-www-form-urlencoded`
 * form, parsed flat (a parameter sent twice is an array, which the schema then refuses). JSON exchanged between
 * systems must be UTF-8 (RFC 8259 §8.1); the body parser alone would decode any `utf-*` charset it
 * recognises (and misread the ones it half-recognises), so a JSON body that declares another
 * charset is a 415 before it is parsed.
 */
import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { matchedBodyMediaTypes, matchedTakesBody } from './matched.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;
const FORM_TYPE = 'application/x-www-form-urlencoded';

function requireUtf8Json(): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers['content-type'];
    const [type = '', ...params] = header ? header.split(';').map((p) => p.trim()) : [];
    const json = JSON_TYPE.test(type);
    const accepted = matchedBodyMediaTypes(req);
    if (type.toLowerCase() === FORM_TYPE && accepted.includes(FORM_TYPE)) return next();
    const expected = accepted[0] ?? 'application/json';
    if (json && accepted.length > 0 && !accepted.some((a) => JSON_TYPE.test(a))) {
      throw new AppError('unsupported_media_type', `The request body must be ${expected}; got ${type}.`);
    }
    // An operation whose body is optional would otherwise run without a body sent in another
    // media type (the validator checks the media type only of bodies it requires), and do what
    // the caller did not ask: refused instead, as for a required body.
    if (!json && matchedTakesBody(req) && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0)) {
      throw new AppError('unsupported_media_type', `The request body must be ${expected}; got ${header ? type : 'no Content-Type'}.`);
    }
    if (!json) return next();
    const charset = params.map((p) => /^charset\s*=\s*"?([^";]+)"?$/i.exec(p)?.[1]).find(Boolean);
    if (charset && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
      throw new AppError('unsupported_media_type', `JSON bodies must be UTF-8; got charset=${charset}.`);
    }
    next();
  };
}

/** Forms are read only where the matched operation takes one: elsewhere a form is a 415, as before. */
function formBody(limitBytes: number): RequestHandler {
  const parse = express.urlencoded({ limit: limitBytes, extended: false, parameterLimit: 20, type: FORM_TYPE });
  return (req, res, next) => (matchedBodyMediaTypes(req).includes(FORM_TYPE) ? parse(req, res, next) : next());
}

export function jsonBody(limitBytes: number): RequestHandler[] {
  return [requireUtf8Json(), express.json({ limit: limitBytes, type: ['application/json', 'application/*+json'], strict: true }), formBody(limitBytes)];
}
