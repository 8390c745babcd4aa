import {existsSync, readdirSync, rmdirSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {TEMP_FILE} from '../io/atomic.js';

/**
 * What tdlab writes in a run directory, as (directory, file-name pattern) pairs. `clearRunDir`
 * removes these and nothing else: files a user put in a run directory, its `logs/` and its lock
 * stay where they are.
 */
export const RUN_ARTIFACTS: ReadonlyArray<{dir: string; name: RegExp}> = [
  {dir: '', name: /^(config\.yaml|provenance\.json|model\.json|training\.arrow)$/},
  {dir: 'data', name: /^dataset\.(arrow|json)$/},
  {dir: 'activations', name: /^epoch_\d+\.arrow$/},
  {dir: 'checkpoints', name: /^epoch_\d+\.arrow$/},
  {dir: 'metrics', name: /^metrics\.(arrow|csv)$/},
  {dir: 'report', name: /^(index\.html|report\.md|summary\.json)$/},
  {dir: 'report/figures', name: /^[\w.-]+\.svg$/},
];

/** Whether `name` in `dir` (relative to the run directory, '' for its top) is a tdlab artifact or one's temp file. */
export function isRunArtifact(dir: string, name: string): boolean {
  return RUN_ARTIFACTS.some((a) => a.dir === dir && (a.name.test(name) || TEMP_FILE.test(name)));
}

/**
 * Removes tdlab's own artifacts (and temp files of killed writers) from a run directory, so that
 * a run can start afresh in the same place; directories left empty are removed. Anything else -
 * `logs/`, the lock, files tdlab did not write - is kept. Returns the removed files.
 */
export function clearRunDir(runDir: string): string[] {
  const removed: string[] = [];
  if (!existsSync(runDir)) return removed;
  const dirs = [...new Set(RUN_ARTIFACTS.map((a) => a.dir))].sort((a, b) => b.length - a.length); // deepest first
  for (const dir of dirs) {
    const abs = join(runDir, dir);
    let names: string[];
    try {
      names = readdirSync(abs, {withFileTypes: true}).filter((e) => e.isFile()).map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!isRunArtifact(dir, name)) continue;
      rmSync(join(abs, name), {force: true});
      removed.push(dir ? `${dir}/${name}` : name);
    }
    if (dir) {
      try {
        rmdirSync(abs); // only when empty
      } catch {
        // holds something tdlab did not write
      }
    }
  }
  return removed;
}
