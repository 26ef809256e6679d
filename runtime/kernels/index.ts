// Kernel module entry: compiled once to build/kernels.wasm; the WASM backend links model code against it.
export { dense_s8, dense_s8_rows, requantize } from './dense_s8';
export { dense_f32, dense_f32_rows, dense_f32_t, erf, activate } from './dense_f32';
export { quantize, dequantize } from './quantize';
export { dense_i8_n8, dense_i8_n16, dense_i8_g, dense_i4_n8, dense_i4_n16, dense_i4_g, dense_i8_t, dense_i4_t } from './dense_q';
export { conv_dw_s8, conv_dw1_s8, conv_pw_s8 } from './conv_q';
export { add_s8, mul_s8, add_s8_f, mul_s8_f, affine_s8, layer_norm_s8, softmax_s8, transpose_s8 } from './int8_ops';
export { mpc_step, mpc_reset, mpc_predict, mpc_expf, mpc_tanhf, mpc_kernel_version } from './mpc';
export { exp_f64 } from './float_math';
export {
  layer_norm_f32, affine_f32, add_f32, mul_f32, softmax_f32, copy_bytes, transpose, gather_bytes, patchify_f32, scale_series_f32,
  unscale_series_f32,
} from './float_ops';
export { embedding_f32, embedding_q8, rope_f32, rope_s8, attention_f32, attention_s8 } from './seq_ops';
export {
  tfl_conv_int, tfl_depthwise_s8, tfl_im2col_s8, tfl_conv_f32, tfl_transpose_conv_int, tfl_transpose_conv_f32, tfl_binary_int, tfl_binary_f32,
  tfl_leaky_relu_int, tfl_leaky_relu_f32, tfl_pad, tfl_strided_slice, tfl_quantize_int, tfl_dequantize_int, tfl_requantize, tfl_softmax_s8,
  tfl_pool, tfl_avg_pool_s8, tfl_activation_s8, tfl_activation_f32, tfl_svdf_s8, tfl_svdf_f32, tfl_lstm_f32, tfl_exp, tfl_tanh, tfl_dense_f32_exact,
  tfl_softmax_f32_exact,
} from './tflite';
export { tfl_lstm_s8 } from './lstm_q';
