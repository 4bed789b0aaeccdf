/**
 * Which build is running: the package version, the git commit it was built from and the Node
 * version. The commit is stamped into dist/build-info.json by `npm run build` (src/cli/stamp-build.ts),
 * because an installed package has no git history to ask; without the stamp it is "unknown".
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  version: string;
  commit: string;
  node: string;
}

/** The folder holding aircharge's package.json, from this module in src/ or in dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('aircharge: package.json not found above the running module');
    dir = parent;
  }
  return dir;
}

/** Where the build writes the commit it was built from. */
export function buildStampPath(root = packageRoot()): string {
  return join(root, 'dist', 'build-info.json');
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const root = packageRoot();
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  let commit = 'unknown';
  try {
    commit = (JSON.parse(readFileSync(buildStampPath(root), 'utf8')) as { commit?: string }).commit || 'unknown';
  } catch {
    // not built by `npm run build` (a test importing src/): no stamp
  }
  cached = { version, commit, node: process.version };
  return cached;
}

/** What `--version` prints. */
export function versionLine(): string {
  const { version, commit } = buildInfo();
  return `${version} (commit ${commit})`;
}
