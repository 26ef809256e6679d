// Kernel module entry: compiled once to build/kernels.wasm; the WASM backend links model code against it.
export { dense_s8, requantize } from './dense_s8';
export { dense_f32, erf, activate } from './dense_f32';
export { quantize, dequantize } from './quantize';
