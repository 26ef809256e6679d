/*
 * The application half of the firmware: the header that turns a compiled model (model.c/model.h from
 * `tinyforge compile --target cortex-m4f`) into a model image the resident loader can commit and call.
 * Linked by the host at a slot address with a generated linker script (compiler/device/image.ts) that
 * places .tf_header first and defines the symbols below.
 */
#include <stdint.h>
#include "model.h"
#include "tf_image.h"

extern uint8_t __tf_image_end[], __tf_data_load[], __tf_data_start[], __tf_data_end[], __tf_bss_start[], __tf_bss_end[];
extern uint8_t __tf_image_start[];

#if !TF_MODEL_INT8
#define TF_MODEL_INT8_INPUT_SIZE 0
#define TF_MODEL_INT8_OUTPUT_SIZE 0
#endif

__attribute__((section(".tf_header"), used))
const struct tf_image_header tf_image_header = {
  TF_IMAGE_MAGIC,
  TF_IMAGE_VERSION,
  (uint32_t)__tf_image_start,
  (uint32_t)__tf_image_end,
  tf_model_run,
#if TF_MODEL_INT8
  tf_model_run_int8,
#else
  0,
#endif
  (uint32_t)__tf_data_load,
  (uint32_t)__tf_data_start,
  (uint32_t)__tf_data_end,
  (uint32_t)__tf_bss_start,
  (uint32_t)__tf_bss_end,
  TF_MODEL_INPUT_SIZE,
  TF_MODEL_OUTPUT_SIZE,
  TF_MODEL_INT8_INPUT_SIZE,
  TF_MODEL_INT8_OUTPUT_SIZE,
  TF_MODEL_NAME,
};
