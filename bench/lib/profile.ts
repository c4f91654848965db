import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives: a package under node_modules, the gateway's src/, node internals, or V8 (GC, idle…). */
function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:internal/')) return `node:internal/${url.slice(14).split('/').slice(0, 2).join('/')}`;
  if (url.startsWith('node:')) return url;
  const src = /\/(src|bench|tests)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  return url;
}

/**
 * Self time of a `node --cpu-prof` profile, by function and by area (package, node internals, the
 * gateway's own files): where the gateway's CPU goes.
 */
export function summarizeProfile(profile: CpuProfile, top = 25): string {
  const byNode = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0;
    if (micros === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = area(url, functionName);
    if (where === '(idle)' || where === '(program)') continue;
    total += micros;
    const key = `${functionName || '(anonymous)'} ${url ? `${where}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    byArea.set(where, (byArea.get(where) ?? 0) + micros);
  }
  const table = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, micros]) => `  ${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`)
      .join('\n');
  return [
    `busy (non-idle) CPU in the profile: ${(total / 1000).toFixed(0)} ms of ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms`,
    'self time by area:',
    table(byArea, 20),
    `self time by function (top ${top}):`,
    table(byFunction, top),
  ].join('\n');
}

/** Summaries of every profile under `dir` (one subfolder per gateway process tree). */
export async function summarizeProfiles(dir: string): Promise<string> {
  const files = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((file) => file.endsWith('.cpuprofile')).sort();
  const parts: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    if (profile.samples.length < 1000) continue; // cluster primaries and idle processes
    parts.push(`== ${file}\n${summarizeProfile(profile)}`);
  }
  return parts.length ? parts.join('\n\n') : `no CPU profiles found in ${dir}`;
}
