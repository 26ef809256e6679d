/**
 * Browser-safe loader for tinyforge MPC controllers (`controller.wasm` from `tinyforge mpc --target wasm`):
 * one module holding the forward model and the Newton-Raphson controller.
 *
 *   const controller = await loadController(bytes);
 *   const u = controller.step(measurement, reference);   // Float32Array of `controls` values
 *   controller.lastStatus                                 // 0, or bits: 1 non-finite derivatives, 2 gradient-step fallback
 *   controller.reset();                                   // next step re-initializes its history from the measurement
 *   controller.predict(x);                                // the forward model, with the controller's arithmetic
 */

export interface TinyforgeMpcMetadata {
  format: 'tinyforge-mpc/1';
  name: string;
  controls: number;
  outputs: number;
  sensors: number;
  modelInputs: number;
  /** floats per reference: outputs, or N2 × outputs with reference_preview */
  referenceSize: number;
  horizon: { N1: number; N2: number; Nu: number };
  iterations: number;
  derivatives: 'exact' | 'finite-difference';
  rateHz: number;
  /** forward model arithmetic (absent in controllers generated before int8 support: float32) */
  forwardModel?: 'float32' | 'int8';
  addresses: { measurement: number; reference: number; u: number; predictIn: number; predictOut: number };
  memoryBytes: number;
}

export class TinyforgeControllerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TinyforgeControllerError';
  }
}

export interface TinyforgeController {
  readonly name: string;
  readonly info: TinyforgeMpcMetadata;
  /** measurement = [outputs..., sensors...], reference = [outputs...] (reference_preview: N2 rows of outputs); returns the controls to apply now. */
  step(measurement: ArrayLike<number>, reference: ArrayLike<number>): Float32Array;
  /** status bits of the last step (0 = clean Newton steps) */
  readonly lastStatus: number;
  reset(): void;
  predict(x: ArrayLike<number>): Float32Array;
}

const err = (m: string): never => { throw new TinyforgeControllerError(m); };

export async function loadController(bytes: BufferSource | WebAssembly.Module): Promise<TinyforgeController> {
  let module: WebAssembly.Module;
  if (bytes instanceof WebAssembly.Module) module = bytes;
  else {
    try { module = await WebAssembly.compile(bytes); } catch (e) { return err(`not a tinyforge controller: invalid WebAssembly (${(e as Error).message})`); }
  }
  const sections = WebAssembly.Module.customSections(module, 'tinyforge-mpc');
  if (sections.length === 0) err("not a tinyforge controller: no 'tinyforge-mpc' section; generate it with 'tinyforge mpc --target wasm'");
  const info = JSON.parse(new TextDecoder().decode(sections[0])) as TinyforgeMpcMetadata;
  if (info.format !== 'tinyforge-mpc/1') err(`unsupported controller format ${JSON.stringify(info.format)}`);
  const instance = await WebAssembly.instantiate(module, {});
  const ex = instance.exports as Record<string, unknown>;
  const memory = ex.memory as WebAssembly.Memory;
  const stepFn = ex.step as () => number, resetFn = ex.reset as () => void, predictFn = ex.predict as () => void;
  const a = info.addresses;
  const mSize = info.outputs + info.sensors;
  let status = 0;
  const put = (addr: number, v: ArrayLike<number>, n: number, what: string) => {
    if (!v || typeof v.length !== 'number' || v.length !== n) err(`${what} must hold ${n} numbers, got ${v?.length}`);
    const dst = new Float32Array(memory.buffer, addr, n);
    for (let i = 0; i < n; i++) dst[i] = v[i];
  };
  return {
    name: info.name,
    info,
    get lastStatus() { return status; },
    step(measurement, reference) {
      put(a.measurement, measurement, mSize, 'measurement');
      put(a.reference, reference, info.referenceSize, 'reference');
      status = stepFn();
      return new Float32Array(memory.buffer.slice(a.u, a.u + 4 * info.controls));
    },
    reset() { resetFn(); },
    predict(x) {
      put(a.predictIn, x, info.modelInputs, 'predict input');
      predictFn();
      return new Float32Array(memory.buffer.slice(a.predictOut, a.predictOut + 4 * info.outputs));
    },
  };
}
