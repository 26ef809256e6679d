/** What running a program on any target returns, per sample. */
export interface DeviceRunResult {
  outputs: Float32Array[];
  /** int8 programs: the int8 output tensor of each sample, before dequantization */
  outputsQ?: Int8Array[];
}

/** Extra facts a microcontroller run reports. */
export interface McuRunResult extends DeviceRunResult {
  /** guest instructions per inference (QEMU -icount shift=0; SysTick ticks x 40) */
  instructions: number[];
  /** .text + .rodata + .data of the image, bytes */
  flashBytes: number;
  /** arena bytes + measured peak stack bytes */
  ramBytes: number;
  arenaBytes: number;
  stackBytes: number;
}
