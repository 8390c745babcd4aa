// Mocha root hook file (loaded before every spec file, see .mocharc.json): every temporary file of
// the test run - the tests' own temp directories, the CLI child processes they start (they inherit
// the environment), Python helpers - goes under one fresh folder, removed after the last test.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'tdlab-test-run-'));
// os.tmpdir() reads TMPDIR on every call, and child processes inherit it
process.env.TMPDIR = root;

export function mochaGlobalTeardown() {
  if (process.env.TDLAB_KEEP_TEST_TMP) {
    process.stderr.write(`test files kept in ${root}\n`);
    return;
  }
  rmSync(root, {recursive: true, force: true});
}
