/* Compiled-in measurement/reference sequences replayed by mpc_loop.c (generated: mpc_sequence.c). */
#ifndef MPC_SEQUENCE_H
#define MPC_SEQUENCE_H
#include <stdint.h>
#include "mpc.h"
extern const int32_t mpc_seq_count;
extern const float mpc_seq_measurement[][MPC_MEASUREMENT_SIZE];
extern const float mpc_seq_reference[][MPC_REFERENCE_SIZE];
#endif
