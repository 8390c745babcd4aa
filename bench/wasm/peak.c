/*
 * Throughput probe for bench/wasm-roofline.mjs: eight independent f64x2 accumulators, each
 * c += x * y per iteration (one multiply and one add instruction, 4 flops), no memory traffic.
 * The ceiling of what a no-FMA f64x2 kernel can reach on this engine and CPU.
 */
#include <wasm_simd128.h>

__attribute__((export_name("peak"))) double peak(int n, double a, double b) {
  v128_t x = wasm_f64x2_splat(a), y = wasm_f64x2_splat(b);
  v128_t c0 = wasm_f64x2_splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (int i = 0; i < n; i++) {
    c0 = wasm_f64x2_add(c0, wasm_f64x2_mul(x, y));
    c1 = wasm_f64x2_add(c1, wasm_f64x2_mul(x, y));
    c2 = wasm_f64x2_add(c2, wasm_f64x2_mul(x, y));
    c3 = wasm_f64x2_add(c3, wasm_f64x2_mul(x, y));
    c4 = wasm_f64x2_add(c4, wasm_f64x2_mul(x, y));
    c5 = wasm_f64x2_add(c5, wasm_f64x2_mul(x, y));
    c6 = wasm_f64x2_add(c6, wasm_f64x2_mul(x, y));
    c7 = wasm_f64x2_add(c7, wasm_f64x2_mul(x, y));
    y = wasm_f64x2_mul(y, x); /* keeps x * y loop-variant */
  }
  v128_t s = wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_add(c0, c1), wasm_f64x2_add(c2, c3)), wasm_f64x2_add(wasm_f64x2_add(c4, c5), wasm_f64x2_add(c6, c7)));
  return wasm_f64x2_extract_lane(s, 0);
}
