/**
 * Paths into an answer, as assertions and `save` name them: `body.data[0].id`, `headers.retry-after`,
 * `ratelimit.write.r`. `[*]` takes every item of an array, so `body.data[*].id` is the list of the
 * page's ids; what a projected item lacks is left out rather than kept as a hole.
 */

type Segment = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'all' };

/** Header names hold `-` but never `.` or `[`, so one grammar serves headers and bodies alike. */
const SEGMENT = /([^.[\]]+)|\[(\d+|\*)\]/g;

export class PathError extends Error {}

export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  let consumed = '';
  for (const match of path.matchAll(SEGMENT)) {
    const [text, key, bracket] = match;
    consumed += text;
    if (key !== undefined) segments.push({ kind: 'key', key });
    else if (bracket === '*') segments.push({ kind: 'all' });
    else segments.push({ kind: 'index', index: Number(bracket) });
  }
  // Every character but the dots between segments must belong to a segment.
  if (segments.length === 0 || consumed.length !== path.replace(/\.(?=[^.])/g, '').length) {
    throw new PathError(`"${path}" is not a path (e.g. body.data[0].id, body.data[*].id, headers.retry-after)`);
  }
  return segments;
}

/** The value at `path` in `root`, or undefined when any step of the way is missing. */
export function readPath(root: unknown, path: string): unknown {
  return walk(root, parsePath(path));
}

function walk(value: unknown, segments: Segment[]): unknown {
  const [first, ...rest] = segments;
  if (!first) return value;
  if (value === null || value === undefined) return undefined;
  switch (first.kind) {
    case 'key': {
      if (typeof value !== 'object' || !Object.hasOwn(value, first.key)) return undefined;
      return walk((value as Record<string, unknown>)[first.key], rest);
    }
    case 'index':
      return Array.isArray(value) ? walk(value[first.index], rest) : undefined;
    case 'all':
      return Array.isArray(value) ? value.map((item) => walk(item, rest)).filter((item) => item !== undefined) : undefined;
  }
}
