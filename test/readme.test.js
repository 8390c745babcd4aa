// The README's command reference is generated from each command's oclif description and
// examples (scripts/readme-commands.mjs), so `tdlab <cmd> --help` and the README cannot drift.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {commandReference, replaceSection} from '../scripts/readme-commands.mjs';

describe('README command reference', () => {
  it('matches the examples every command shows in --help (regenerate: node scripts/readme-commands.mjs)', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = await commandReference();
    assert.equal(replaceSection(readme, section), readme);
  });

  it('every command has at least one example', async () => {
    const section = await commandReference();
    for (const block of section.split('**`tdlab ').slice(1)) {
      const [head] = block.split('`**');
      assert.match(block, /```\ntdlab /, `tdlab ${head} has no examples`);
    }
  });
});
