import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

/**
 * Dependency hygiene without a network audit: every installed copy of the security-relevant
 * packages is at or above the first release free of its known advisories. (`npm run audit` also
 * asks the registry when its audit endpoint is reachable.)
 */
const FLOORS: Array<[name: string, floor: string, why: string]> = [
  ['express', '5.0.1', 'CVE-2024-47764 via cookie, CVE-2024-43796 (redirect XSS)'],
  ['path-to-regexp', '8.0.0', 'CVE-2024-45296 / CVE-2024-52798 (ReDoS)'],
  ['cookie', '0.7.0', 'CVE-2024-47764 (cookie name/path injection)'],
  ['express-session', '1.18.1', 'depends on a fixed cookie'],
  ['body-parser', '1.20.3', 'CVE-2024-45590 (DoS with url encoding)'],
  ['send', '0.19.0', 'CVE-2024-43799 (template injection)'],
  ['serve-static', '1.16.0', 'CVE-2024-43800 (template injection)'],
  ['jose', '4.15.5', 'CVE-2024-28176 (JWE decompression bomb)'],
];

const listDir = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((entry) => statSync(join(dir, entry)).isDirectory());
  } catch {
    return [];
  }
};

/** Every installed copy of `name`, however deeply nested (npm may install several versions). */
function installedVersions(name: string, modulesDir = 'node_modules'): string[] {
  const packages = listDir(modulesDir).flatMap((entry) =>
    entry.startsWith('@') ? listDir(join(modulesDir, entry)).map((scoped) => `${entry}/${scoped}`) : [entry],
  );
  return packages.flatMap((pkg) => {
    const path = join(modulesDir, pkg);
    const own = pkg === name ? [(JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as { version: string }).version] : [];
    return [...own, ...installedVersions(name, join(path, 'node_modules'))];
  });
}

function atLeast(version: string, floor: string): boolean {
  const parts = (v: string) => v.split(/[.-]/).slice(0, 3).map(Number);
  const [a, b] = [parts(version), parts(floor)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

describe('installed dependency versions', () => {
  it.each(FLOORS)('%s ≥ %s (%s)', (name, floor) => {
    const versions = installedVersions(name);
    expect(versions.length).toBeGreaterThan(0);
    for (const version of versions) expect(`${name}@${version} ${atLeast(version, floor) ? '≥' : '<'} ${floor}`).toBe(`${name}@${version} ≥ ${floor}`);
  });
});
