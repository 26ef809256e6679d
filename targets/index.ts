/**
 * Compile targets and the devices behind them. `wasm` and `c` are portable; `cortex-m4f` emits the
 * DSP (SMLAD) path and runs on a board — by default the emulated `mps2-an386` (targets/boards/).
 */
export type TargetName = 'wasm' | 'c' | 'cortex-m4f';
export const TARGET_NAMES: readonly TargetName[] = ['wasm', 'c', 'cortex-m4f'];

export interface TargetInfo {
  name: TargetName;
  description: string;
  /** default board for targets that run on a device */
  defaultBoard?: string;
}

export const TARGETS: Record<TargetName, TargetInfo> = {
  wasm: { name: 'wasm', description: 'one self-contained WebAssembly module (SIMD128), for Node and browsers' },
  c: { name: 'c', description: 'portable C99 (model.c/model.h), static const weights, one static arena, no malloc' },
  'cortex-m4f': { name: 'cortex-m4f', description: 'C99 with the Cortex-M4 DSP path (__SMLAD), for Cortex-M4F boards', defaultBoard: 'mps2-an386' },
};
