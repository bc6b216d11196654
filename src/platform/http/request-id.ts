import type { RequestHandler } from 'express';
import { newId } from '../ids.js';

// A caller's id is kept when it is safe to echo into headers and logs.
const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (the caller's, if well formed) and sends it back as `Request-Id`. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('request-id');
    const id = incoming && WELL_FORMED.test(incoming) ? incoming : newId('req');
    res.locals.requestId = id;
    res.setHeader('Request-Id', id);
    next();
  };
}
