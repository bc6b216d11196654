/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: what a V8 CPU profile (from `node
 * --cpu-prof`, or from `BENCH_CPU_PROF=<dir> make bench`, whose servers profile themselves from
 * ready to stopped) spent its time on, as two markdown
 * tables: self time by package (node_modules package, Node's own modules, the project's files,
 * V8's pseudo-frames such as `(garbage collector)`), and the functions with the most self time.
 * Idle time (`(idle)`) is left out of the percentages: they are shares of the time the process
 * was busy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const ROOT = path.resolve(import.meta.dirname, '..');

/** Where a frame's code comes from: a package, a Node module, one of the project's files, or V8 itself. */
function origin(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const file = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  const at = file.lastIndexOf('/node_modules/');
  if (at >= 0) {
    const rest = file.slice(at + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  return path.relative(ROOT, file).split(path.sep).slice(0, 2).join('/');
}

function where(frame: CallFrame): string {
  const file = frame.url.startsWith('file://') ? path.relative(ROOT, decodeURIComponent(frame.url.slice(7))).replace(/^.*node_modules\//, '') : frame.url;
  return file ? `${file}:${frame.lineNumber + 1}` : '';
}

function summarise(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // A sample's time is the delta to the next sample; the last sample has none and counts nothing.
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  });
  let idleUs = 0;
  let busyUs = 0;
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, { readonly name: string; readonly where: string; readonly origin: string; us: number }>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const from = origin(frame);
    byOrigin.set(from, (byOrigin.get(from) ?? 0) + us);
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
    const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where: where(frame), origin: from, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1)} %`;
  const sorted = <T>(entries: Iterable<T>, of: (t: T) => number) => [...entries].sort((a, b) => of(b) - of(a));
  return [
    `Busy ${(busyUs / 1e6).toFixed(1)} s, idle ${(idleUs / 1e6).toFixed(1)} s; shares of busy time.`,
    '',
    '| self time by origin | share |',
    '|---|--:|',
    ...sorted(byOrigin, ([, us]) => us)
      .slice(0, top)
      .map(([from, us]) => `| ${from} | ${pct(us)} |`),
    '',
    '| function (self time) | where | share |',
    '|---|---|--:|',
    ...sorted(byFunction.values(), (e) => e.us)
      .slice(0, top)
      .map((e) => `| ${e.name} | ${e.where || e.origin} | ${pct(e.us)} |`),
  ].join('\n');
}

const [file, top] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top ?? 15)));
