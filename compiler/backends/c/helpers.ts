/** C helper snippets shared by several op emitters (keyed by name in CStepEmission.helpers). */

/** roundToInt8 of plan/program.ts: NaN -> 0, clamp to [-256, 256], round half away from zero in f32, clamp. */
export const ROUND_S8_HELPER = `static inline int8_t tf_round_s8(float t) {
  int32_t r;
  if (t != t) t = 0.0f; /* NaN */
  if (t > 256.0f) t = 256.0f;
  if (t < -256.0f) t = -256.0f;
  r = t >= 0.0f ? (int32_t)(t + 0.5f) : -(int32_t)(0.5f - t);
  return (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
}
`;

/** C element type of a data-movement step's buffers. */
export function cElemType(dtype: string): string {
  return dtype === 'int8' ? 'int8_t' : dtype === 'int16' ? 'int16_t' : dtype === 'int32' ? 'int32_t' : 'float';
}
