/** C source formatting helpers shared by the C backend and the op emitters (compiler/ops/<op>/c.ts). */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bit pattern of the float32 nearest to x. */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/**
 * A float32 as a C99 hexadecimal float literal with an `f` suffix. Hex literals are exact, so the
 * compiled constant has the same bits as the Program's Float32Array (decimal would need 9 digits and
 * trust in the compiler's rounding). Non-finite values need <math.h> (INFINITY / NAN).
 */
export function cFloat(x: number): string {
  const bits = f32Bits(x);
  const sign = bits >>> 31 ? '-' : '';
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant ? 'NAN' : `${sign}INFINITY`;
  if (exp === 0 && mant === 0) return `${sign}0.0f`;
  // 23 mantissa bits -> 6 hex digits after a 1-bit left shift; trailing zeros dropped.
  const hex = (mant << 1).toString(16).padStart(6, '0').replace(/0+$/, '');
  const frac = hex ? `.${hex}` : '';
  return exp === 0 ? `${sign}0x0${frac}p-126f` : `${sign}0x1${frac}p${exp - 127}f`;
}

/** Sanitizes a layer/model name into a C identifier fragment. */
export function cIdent(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (!s || /^[0-9]/.test(s)) s = `_${s}`;
  return s;
}

/** A C string literal (ASCII; anything else escaped). */
export function cString(s: string): string {
  return '"' + Array.from(s, (ch) => {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') return '\\' + ch;
    if (c < 0x20 || c > 0x7e) return '\\' + (c & 0xff).toString(8).padStart(3, '0');
    return ch;
  }).join('') + '"';
}

/** Initializer list body, `perLine` values per line, indented two spaces. */
export function cList(values: ArrayLike<number>, fmt: (v: number) => string = String, perLine = 16): string {
  const out: string[] = [];
  for (let i = 0; i < values.length; i += perLine) {
    const row: string[] = [];
    for (let j = i; j < Math.min(values.length, i + perLine); j++) row.push(fmt(values[j]));
    out.push('  ' + row.join(', '));
  }
  return out.join(',\n');
}

/** `static const <type> <name>[n] = {...};` (a one-element zero array if empty, since C forbids []). */
export function cConstArray(type: string, name: string, values: ArrayLike<number>, fmt?: (v: number) => string, perLine?: number): string {
  if (values.length === 0) return `static const ${type} ${name}[1] = { 0 };\n`;
  return `static const ${type} ${name}[${values.length}] = {\n${cList(values, fmt, perLine)}\n};\n`;
}

/** int32 literal that is valid C even for INT32_MIN (which C parses as -(2147483648), a long). */
export function cInt32(v: number): string {
  return v === -2147483648 ? '(-2147483647 - 1)' : String(v | 0);
}

/** uint32 as a hex literal. */
export function cHex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0') + 'u';
}

/** What the C backend passes to the op emitters. */
export interface CEmitOptions {
  target: 'c' | 'cortex-m4f';
  /**
   * cortex-m4f int8 dense weight storage: 'int8' keeps flash at 1 byte/weight, 'int16' pre-extends
   * (2 bytes/weight, fewer instructions per MAC), 'auto' (default) pre-extends while the extra flash
   * stays under 32 KiB for the whole model.
   */
  dspWeights?: 'int8' | 'int16' | 'auto';
}

/** One step's C: file-scope definitions (arrays + the layer function) and shared helpers by key. */
export interface CStepEmission {
  /** helper snippets keyed by name so several layers share one copy */
  helpers: Record<string, string>;
  /** system headers this step needs */
  includes: string[];
  code: string;
}
