/*
 * A flashable model image: the compiled model (model.c) linked at a slot's fixed address, starting with
 * this header. The resident loader checks the header before committing the slot and calls into the
 * model through it. The host builds the image (compiler/device/image.ts) with firmware/loader/model_entry.c.
 */
#ifndef TF_IMAGE_H
#define TF_IMAGE_H

#include <stdint.h>

#define TF_IMAGE_MAGIC 0x474D4654u /* "TFMG" */
#define TF_IMAGE_VERSION 1u

typedef int (*tf_run_f32_fn)(const float *in, float *out);
typedef int (*tf_run_s8_fn)(const int8_t *in, int8_t *out);

struct tf_image_header {
  uint32_t magic;          /* TF_IMAGE_MAGIC */
  uint32_t version;        /* TF_IMAGE_VERSION */
  uint32_t load_addr;      /* the slot address the image is linked at */
  uint32_t image_end;      /* first address after the image bytes (flash) */
  tf_run_f32_fn run;       /* tf_model_run */
  tf_run_s8_fn run_int8;   /* tf_model_run_int8, or 0 for float models */
  uint32_t data_load;      /* .data initial values (flash) */
  uint32_t data_start;     /* .data in RAM */
  uint32_t data_end;
  uint32_t bss_start;      /* .bss in RAM, zeroed before a run */
  uint32_t bss_end;
  uint32_t in_size;        /* float elements per sample */
  uint32_t out_size;
  uint32_t int8_in_size;   /* int8 API elements per sample (0: float model) */
  uint32_t int8_out_size;
  char name[32];
};

#endif
