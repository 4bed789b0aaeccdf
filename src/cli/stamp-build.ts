/**
 * Run by `npm run build` after tsc: writes the git commit being built into dist/build-info.json,
 * where buildInfo() finds it once the package is installed far from any git checkout. Outside a
 * checkout (a build from an unpacked tarball) the commit is "unknown".
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { buildStampPath, packageRoot } from '../build-info.js';

function gitCommit(cwd: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const root = packageRoot();
writeFileSync(buildStampPath(root), `${JSON.stringify({ commit: gitCommit(root) })}\n`);
