// float <-> int8 boundary, exactly the formulas of compiler/quant/fixedpoint.ts (f32 arithmetic throughout).

export function quantize(x: usize, y: usize, n: i32, scale: f32, zeroPoint: i32): void {
  for (let i = 0; i < n; i++) {
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

export function dequantize(x: usize, y: usize, n: i32, scale: f32, zeroPoint: i32): void {
  for (let i = 0; i < n; i++) {
    store<f32>(y + (<usize>i << 2), <f32>(i32(load<i8>(x + <usize>i)) - zeroPoint) * scale);
  }
}
