/**
 * Conditional reads (RFC 9110 §13): every resource and list page the spec answers with an `ETag`
 * carries a strong entity tag computed from the exact bytes sent, and a request whose
 * `If-None-Match` names it is answered `304` without a body. A poller that changed nothing then
 * costs the network one status line.
 *
 * The tag is a digest of the serialised body, so it changes with any change to what the client
 * would see (a field, an item on a page, `has_more`) and never without one: strong, as RFC 9110
 * §8.8.1 requires of a tag that promises byte-for-byte equality. Matching follows §13.1.2: a list
 * of tags or `*`, compared weakly (a `W/` prefix is ignored). It is written here rather than taken
 * from the `fresh` package Express uses, because `fresh` ignores `If-None-Match` whenever the
 * request says `Cache-Control: no-cache`, a rule for caches, not for the origin server.
 */
import { createHash } from 'node:crypto';

/** `"` + 22 base64url characters (128 bits of SHA-256) + `"`, the shape the spec's ETag header has. */
export function strongEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
}

/** Whether `If-None-Match` (absent, `*`, or a comma-separated list of tags) names `etag`. */
export function noneMatchNames(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  for (const item of header.split(',')) {
    const tag = item.trim();
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}
