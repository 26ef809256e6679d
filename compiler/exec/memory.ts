import type { BufferRef, Program } from '../plan/program.js';

/** The three memory spaces of a program, as the TS oracle executor sees them. */
export class ProgramMemory {
  readonly spaces: Record<'input' | 'output' | 'arena', ArrayBuffer>;
  constructor(program: Program) {
    const io = (n: number) => new ArrayBuffer(Math.max(16, n * 4));
    this.spaces = {
      input: io(program.input.shape.reduce((a, b) => a * b, 1)),
      output: io(program.output.shape.reduce((a, b) => a * b, 1)),
      arena: new ArrayBuffer(Math.max(16, program.arenaBytes)),
    };
  }
  f32(ref: BufferRef): Float32Array {
    return new Float32Array(this.spaces[ref.space], ref.offset, ref.length);
  }
  i8(ref: BufferRef): Int8Array {
    return new Int8Array(this.spaces[ref.space], ref.offset, ref.length);
  }
  i32(ref: BufferRef): Int32Array {
    return new Int32Array(this.spaces[ref.space], ref.offset, ref.length);
  }
}
