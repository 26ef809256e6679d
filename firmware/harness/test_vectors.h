/* Compiled-in test vectors, generated per run (test_vectors.c) by the board runner. */
#ifndef TF_TEST_VECTORS_H
#define TF_TEST_VECTORS_H

#include <stdint.h>
#include "model.h"

extern const int32_t tf_test_count;
extern const float tf_test_in[][TF_MODEL_INPUT_SIZE];
#if TF_MODEL_INT
extern const tf_model_int_in_t tf_test_iin[][TF_MODEL_INT_INPUT_SIZE];
#endif
#if TF_MODEL_INT8
extern const int8_t tf_test_qin[][TF_MODEL_INT8_INPUT_SIZE];
#endif

#endif
