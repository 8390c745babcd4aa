import {Command} from '@oclif/core';
import {EXIT, UserError} from '../util/errors.js';

/**
 * Base of every tdlab command: user errors (ours, and oclif's flag parsing errors) become one
 * line on stderr - or one JSON error object on stdout with --json - and their exit code.
 * oclif alone would exit 1 under --json (oclif/core#1423) and print its help on flag errors.
 */
export abstract class BaseCommand extends Command {
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    const parseError = !(err instanceof UserError) && err.oclif?.exit !== undefined && err.oclif.exit !== 0;
    if (err instanceof UserError || parseError) {
      const exitCode = err instanceof UserError ? err.exitCode : (err.oclif?.exit ?? EXIT.usage);
      const first = err.message.split('\n')[0].trim();
      const message = parseError ? `${first} (see tdlab ${this.id ?? ''} --help)`.replace('  ', ' ') : first;
      process.exitCode = exitCode;
      if (this.jsonEnabled() || this.argv.includes('--json')) {
        this.logJson({error: {code: err instanceof UserError ? err.code : 'E_USAGE', message, exitCode}});
      } else {
        process.stderr.write(`Error: ${message}\n`);
      }
      return;
    }
    return super.catch(err);
  }
}
