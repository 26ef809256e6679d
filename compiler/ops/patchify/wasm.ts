/** WASM emission for patchify_f32: [length, channels] -> [channels, patches, patchLength]. */
import type { Expr, WasmEmitContext } from '../../backends/wasm/context.js';
import { fail } from '../../errors.js';
import type { PatchifyF32Step } from '../../plan/program.js';

export function emitPatchifyWasm(step: PatchifyF32Step, ctx: WasmEmitContext): Expr {
  const start = step.length - (step.patchLength + step.stride * (step.patches - 1));
  if (start < 0) fail(`program step '${step.name}': ${step.patches} patches of ${step.patchLength} (stride ${step.stride}) do not fit ${step.length} steps`);
  return ctx.call('patchify_f32', [
    ctx.i32(ctx.addr(step.in)), ctx.i32(ctx.addr(step.out)), ctx.i32(step.length), ctx.i32(step.channels),
    ctx.i32(step.patchLength), ctx.i32(step.stride), ctx.i32(step.patches),
  ]);
}
