/**
 * The request body parser: JSON only, bounded in size, and UTF-8 only. JSON exchanged between
 * systems must be UTF-8 (RFC 8259 §8.1); the body parser alone would decode any `utf-*` charset it
 * recognises (and misread the ones it half-recognises), so a JSON body that declares another
 * charset is a 415 before it is parsed.
 */
import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { matchedTakesBody } from './matched.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

function requireUtf8Json(): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers['content-type'];
    const [type = '', ...params] = header ? header.split(';').map((p) => p.trim()) : [];
    const json = JSON_TYPE.test(type);
    // An operation whose body is optional would otherwise run without a body sent in another
    // media type (the validator checks the media type only of bodies it requires), and do what
    // the caller did not ask: refused instead, as for a required body.
    if (!json && matchedTakesBody(req) && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0)) {
      throw new AppError('unsupported_media_type', `The request body must be application/json; got ${header ? type : 'no Content-Type'}.`);
    }
    if (!json) return next();
    const charset = params.map((p) => /^charset\s*=\s*"?([^";]+)"?$/i.exec(p)?.[1]).find(Boolean);
    if (charset && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
      throw new AppError('unsupported_media_type', `JSON bodies must be UTF-8; got charset=${charset}.`);
    }
    next();
  };
}

export function jsonBody(limitBytes: number): RequestHandler[] {
  return [requireUtf8Json(), express.json({ limit: limitBytes, type: ['application/json', 'application/*+json'], strict: true })];
}
