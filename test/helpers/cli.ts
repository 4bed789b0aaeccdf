/** Runs the built admin CLI (`dist/`) as a process, as an operator's shell would. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const AIRCHARGE_MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `aircharge ARGS` with `env` over this process's environment; resolves with its exit code, whatever it is. */
export function runAircharge(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AIRCHARGE_MAIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}
