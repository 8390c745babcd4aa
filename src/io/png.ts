import {createRequire} from 'node:module';

/**
 * SVG to PNG through resvg (@resvg/resvg-js: a maintained Rust renderer whose npm package ships
 * its prebuilt binary per platform, so nothing is downloaded at install). Text uses the system
 * fonts; the figures name Helvetica, Arial and Liberation Sans, metric-compatible fonts.
 */
const require = createRequire(import.meta.url);

interface Resvg {
  render(): {asPng(): Uint8Array};
}
type ResvgClass = new (svg: string, options: Record<string, unknown>) => Resvg;

let resvg: ResvgClass | null | undefined;

/** The renderer, or null when its binary is not installed for this platform. */
function renderer(): ResvgClass | null {
  if (resvg === undefined) {
    try {
      resvg = (require('@resvg/resvg-js') as {Resvg: ResvgClass}).Resvg;
    } catch {
      resvg = null;
    }
  }
  return resvg;
}

/** Whether PNGs can be written here. */
export function pngAvailable(): boolean {
  return renderer() !== null;
}

/** A PNG of an SVG document at `scale` x its size (2: print resolution for a page-wide figure). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const R = renderer();
  if (!R) throw new Error('@resvg/resvg-js is not installed for this platform');
  const r = new R(svg, {fitTo: {mode: 'zoom', value: scale}, background: '#ffffff', font: {loadSystemFonts: true, defaultFontFamily: 'Liberation Sans', sansSerifFamily: 'Liberation Sans'}, logLevel: 'off'});
  return r.render().asPng();
}

/** `figure.svg` -> `figure.png`. */
export function pngName(svgFile: string): string {
  return svgFile.replace(/\.svg$/, '') + '.png';
}
