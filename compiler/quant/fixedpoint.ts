/**
 * TFLite-style fixed-point requantization. Every target implements exactly these integer operations;
 * this file is the reference they are tested against.
 */

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Splits a positive real multiplier into an int32 Q31 mantissa and a power-of-two shift (TFLite QuantizeMultiplier). */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (!(real > 0) || !Number.isFinite(real)) return { multiplier: 0, shift: 0 };
  let shift = Math.floor(Math.log2(real)) + 1;
  let mantissa = real / 2 ** shift; // in [0.5, 1)
  if (mantissa >= 1) { mantissa /= 2; shift += 1; }
  if (mantissa < 0.5) { mantissa *= 2; shift -= 1; }
  let q = Math.round(mantissa * 2 ** 31);
  if (q === 2 ** 31) { q /= 2; shift += 1; }
  if (shift < -31) { shift = 0; q = 0; }
  if (shift > 30) { shift = 30; q = INT32_MAX; }
  return { multiplier: q, shift };
}

/** (a * b * 2) >> 32 with rounding to nearest, ties away from zero, saturating the one overflow case. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  // C integer division truncates toward zero; BigInt division does the same.
  return Number((ab + nudge) / (1n << 31n));
}

/** x / 2^exponent rounded to nearest, ties away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(Math.imul(x, 1 << leftShift) | 0, multiplier), rightShift);
}

/** float32 -> int8 exactly as all targets do it (see plan/program.ts). */
export function quantizeValue(x: number, scale: number, zeroPoint: number): number {
  const f = Math.fround;
  let t = f(f(x) / f(scale));
  if (Number.isNaN(t)) t = 0;
  if (t > 256) t = 256;
  if (t < -256) t = -256;
  const r = t >= 0 ? Math.trunc(f(t + 0.5)) : -Math.trunc(f(0.5 - t));
  const q = r + zeroPoint;
  return q < -128 ? -128 : q > 127 ? 127 : q;
}

export function dequantizeValue(q: number, scale: number, zeroPoint: number): number {
  const f = Math.fround;
  return f(f(q - zeroPoint) * f(scale));
}

/** roundToInt8 of plan/program.ts: NaN -> 0, clamp to [-256, 256], round half away from zero in f32, clamp. */
export function roundToInt8(y: number): number {
  const f = Math.fround;
  let t = f(y);
  if (Number.isNaN(t)) t = 0;
  if (t > 256) t = 256;
  if (t < -256) t = -256;
  const r = t >= 0 ? Math.trunc(f(t + 0.5)) : -Math.trunc(f(0.5 - t));
  return r < -128 ? -128 : r > 127 ? 127 : r;
}

export const clampInt8 = (v: number) => (v < -128 ? -128 : v > 127 ? 127 : v);

/**
 * quantizeMultiplier with a 16-bit mantissa: the multiplier's low 15 bits are zero, so per-channel
 * multipliers can be stored as uint16 (m >> 15) in flash. The requantization arithmetic is unchanged;
 * the scale moves by at most 2^-16 relative.
 */
export function quantizeMultiplierCompact(real: number): { multiplier: number; shift: number } {
  const q = quantizeMultiplier(real);
  if (q.multiplier === 0) return q;
  let mant = Math.round(q.multiplier / 2 ** 15);
  let shift = q.shift;
  if (mant >= 2 ** 16) { mant = 2 ** 15; shift += 1; }
  return { multiplier: mant * 2 ** 15, shift };
}
