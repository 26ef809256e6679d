// float <-> int8 boundary, exactly the formulas of compiler/quant/fixedpoint.ts (f32 arithmetic throughout).
// Buffers may be anywhere in linear memory (the caller's input/output or arena buffers).

/** q = clamp(round-half-away(clamp(f32(x / scale), -256, 256)) + zp, -128, 127), NaN -> 0. */
export function quantize(x: usize, y: usize, n: i32, scale: f32, zeroPoint: i32): void {
  const sv = f32x4.splat(scale), half = f32x4.splat(0.5), sign = i32x4.splat(0x80000000);
  const lim = i32x4.splat(256), nlim = i32x4.splat(-256), zp = i32x4.splat(zeroPoint);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const t = f32x4.div(v128.load(x + (<usize>i << 2)), sv);
    // trunc(|t| + 0.5) with t's sign == the oracle's two branches; NaN -> 0 and +-inf -> +-256 after the clamp
    const r = v128.or(f32x4.trunc(f32x4.add(f32x4.abs(t), half)), v128.and(t, sign));
    const q = i32x4.add(i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(r), nlim), lim), zp);
    const h = i16x8.narrow_i32x4_s(q, q);
    v128.store32_lane(y + <usize>i, i8x16.narrow_i16x8_s(h, h), 0);
  }
  for (; i < n; i++) {
    let t: f32 = load<f32>(x + (<usize>i << 2)) / scale;
    if (t != t) t = 0;
    if (t > 256) t = 256;
    if (t < -256) t = -256;
    const r: i32 = t >= 0 ? i32(f32.trunc(t + <f32>0.5)) : -i32(f32.trunc(<f32>0.5 - t));
    let q = r + zeroPoint;
    if (q < -128) q = -128;
    if (q > 127) q = 127;
    store<i8>(y + <usize>i, q);
  }
}

/** y = f32(f32(q - zp) * scale). */
export function dequantize(x: usize, y: usize, n: i32, scale: f32, zeroPoint: i32): void {
  const sv = f32x4.splat(scale), zp = i32x4.splat(zeroPoint);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(x + <usize>i)));
    v128.store(y + (<usize>i << 2), f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(q, zp)), sv));
  }
  for (; i < n; i++) {
    store<f32>(y + (<usize>i << 2), <f32>(i32(load<i8>(x + <usize>i)) - zeroPoint) * scale);
  }
}
