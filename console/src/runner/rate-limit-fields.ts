/**
 * The `RateLimit-Policy` and `RateLimit` fields (IETF httpapi ratelimit-headers draft), read into
 * one object per policy: `"write";q=200;w=10` and `"write";r=57;t=8` become
 * `{ write: { q: 200, w: 10, r: 57, t: 8 } }`, so an assertion can say `ratelimit.write.r`.
 */

export type QuotaFields = Partial<Record<'q' | 'w' | 'r' | 't', number>>;

/** One list item: a quoted policy name, then `;key=integer` parameters. */
const ITEM = /^\s*"([^"]+)"((?:\s*;\s*[a-z]+=\d+)*)\s*$/;
const PARAMETER = /;\s*([a-z]+)=(\d+)/g;

export function parseRateLimitFields(policy: string | null, state: string | null): Record<string, QuotaFields> {
  const quotas: Record<string, QuotaFields> = {};
  for (const field of [policy, state]) {
    for (const item of (field ?? '').split(',')) {
      const match = ITEM.exec(item);
      if (!match) continue;
      const fields = (quotas[match[1]!] ??= {});
      for (const [, key, value] of match[2]!.matchAll(PARAMETER)) {
        if (key === 'q' || key === 'w' || key === 'r' || key === 't') fields[key] = Number(value);
      }
    }
  }
  return quotas;
}
