// Headless Chromium (Debian's `chromium`; .ci/run installs it) for the figure tests: the bounding
// boxes of every text element of every figure as the browser lays them out, and full-page
// screenshots. Offline flags and a fresh profile per call; nothing from src/ or dist/ is used.
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, dirname, join} from 'node:path';

export const CHROMIUM = process.env.CHROMIUM ?? 'chromium';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--hide-scrollbars', '--force-device-scale-factor=1'];

function chromium(args) {
  const profile = mkdtempSync(join(tmpdir(), 'tdlab-chromium-'));
  try {
    const r = spawnSync(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args], {encoding: 'utf8', timeout: 120000, maxBuffer: 256 * 1024 * 1024});
    if (r.error) throw new Error(`${CHROMIUM}: ${r.error.message} (apt-get install chromium)`);
    return r;
  } finally {
    rmSync(profile, {recursive: true, force: true});
  }
}

// Runs in the page: per <svg>, every <text> box (client rectangle) and every pair that intersects.
const PROBE = `
<script>
window.addEventListener('load', () => {
  const figures = [...document.querySelectorAll('svg')].map((svg, f) => {
    const texts = [...svg.querySelectorAll('text')].map((t) => {
      const r = t.getBoundingClientRect();
      return {text: t.textContent, x: r.left, y: r.top, w: r.width, h: r.height};
    }).filter((b) => b.w > 0 && b.h > 0);
    const overlaps = [];
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i], b = texts[j];
      const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (ox > 0.5 && oy > 0.5) overlaps.push([a.text, b.text, Math.round(ox * 10) / 10, Math.round(oy * 10) / 10]);
    }
    const title = svg.querySelector('title');
    return {figure: f, title: title ? title.textContent : '', texts: texts.length, overlaps, width: svg.getBoundingClientRect().width};
  });
  const out = document.createElement('pre');
  out.setAttribute('data-probe', '1');
  out.textContent = JSON.stringify({height: document.documentElement.scrollHeight, figures});
  document.body.appendChild(out);
});
</script>`;

/**
 * Lays a page out in Chromium at `width` px and returns, per figure, the number of text elements,
 * the pairs of texts whose boxes intersect (> 0.5 px both ways), and the page height.
 */
export function probeTexts(htmlFile, width = 1400) {
  const html = readFileSync(htmlFile, 'utf8').replace('</body>', `${PROBE}</body>`);
  const probe = join(dirname(htmlFile), `.probe-${basename(htmlFile)}`);
  writeFileSync(probe, html);
  try {
    const r = chromium([`--window-size=${width},1000`, '--virtual-time-budget=5000', '--dump-dom', `file://${probe}`]);
    const m = /<pre data-probe="1">([\s\S]*?)<\/pre>/.exec(r.stdout);
    if (!m) throw new Error(`no probe output from ${CHROMIUM} (status ${r.status}): ${r.stderr.slice(-2000)}`);
    const text = m[1].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    return JSON.parse(text);
  } finally {
    rmSync(probe, {force: true});
  }
}

/** A screenshot of the whole page (`height` from probeTexts) as PNG bytes. */
export function screenshot(htmlFile, pngFile, width, height) {
  const r = chromium([`--window-size=${width},${Math.max(600, Math.ceil(height))}`, `--screenshot=${pngFile}`, `file://${htmlFile}`]);
  const png = readFileSync(pngFile);
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`${CHROMIUM} wrote no PNG: ${r.stderr.slice(-1000)}`);
  return png;
}
