/**
 * Security headers on every answer (helmet): the browser must not guess a media type
 * (`X-Content-Type-Options: nosniff`), leak the URL in a Referer, or frame any of it; JSON answers
 * carry a Content-Security-Policy that allows nothing at all, and the pages this API serves
 * (`/docs`, `/problems`, `/console`) one that allows only what they load from this server — no
 * inline script, no other origin. `Strict-Transport-Security` is sent only on requests that came
 * over TLS (directly, or through a proxy trusted by TRUST_PROXY): over plain HTTP it means nothing.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** One year, the preload list's minimum (hstspreload.org). */
const HSTS_MAX_AGE_S = 31_536_000;

const NOTHING = ["'none'"];

/** For every answer: JSON documents and problems load nothing. */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: NOTHING, frameAncestors: NOTHING, baseUri: NOTHING, formAction: NOTHING } },
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  });
}

/**
 * For the HTML pages: scripts, styles, images and requests from this server only. `inlineStyles`
 * are the exact `<style>` blocks a page embeds, allowed by hash (CSP Level 2), not by
 * 'unsafe-inline'.
 */
export function pageSecurityPolicy(inlineStyles: readonly string[]): RequestHandler {
  const hashes = inlineStyles.map((css) => `'sha256-${createHash('sha256').update(css).digest('base64')}'`);
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", ...hashes],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: NOTHING,
      frameAncestors: NOTHING,
      baseUri: NOTHING,
      formAction: ["'self'"],
    },
  });
}

/**
 * `handler` everywhere it is mounted but on the paths `except` names: JSON served under a page's
 * path (the console's feed) keeps the policy that lets it load nothing. Paths compare as routing
 * does: case aside, trailing slash aside.
 */
export function exceptOn(except: readonly string[], handler: RequestHandler): RequestHandler {
  const skipped = new Set(except.map((p) => p.toLowerCase()));
  return (req, res, next) => {
    const path = req.originalUrl.split('?')[0]!.replace(/\/+$/, '').toLowerCase();
    if (skipped.has(path)) next();
    else handler(req, res, next);
  };
}

/** HSTS on requests that arrived over TLS. */
export function strictTransportSecurity(): RequestHandler {
  return (req, res, next) => {
    if (req.secure) res.setHeader('Strict-Transport-Security', `max-age=${HSTS_MAX_AGE_S}; includeSubDomains`);
    next();
  };
}
