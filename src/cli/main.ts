#!/usr/bin/env node
/**
 * `aircharge`: the gateway (`serve`) and the operator's admin commands. Each command group lives
 * in its own module and registers itself on the program.
 */
import { Command } from 'commander';
import { versionLine } from '../build-info.js';
import { registerServe } from './serve.js';
import { registerAdmin } from './admin.js';
import { registerOps } from './ops.js';
import { registerConsole } from './console.js';
import { jsonUsageErrors } from './json-errors.js';

const program = new Command('aircharge')
  .description('Gateway and admin tool for aircharge payment terminals')
  .version(versionLine(), '-V, --version', 'print the version and the commit it was built from')
  .showHelpAfterError();
jsonUsageErrors(program);

registerServe(program);
registerAdmin(program);
registerOps(program);
registerConsole(program);

await program.parseAsync(process.argv);
