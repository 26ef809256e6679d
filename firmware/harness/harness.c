/*
 * Test/benchmark firmware shared by all boards: runs the compiled-in vectors through the model and
 * reports over the board UART, one record per line (parsed by the board runner):
 *   TF BEGIN <model>
 *   TF OVERHEAD <ticks>           empty timed region, subtracted from every measurement
 *   I <instructions>              float API (tf_model_run) for the next sample, then
 *   O <hex float bits>...         its outputs
 *   J <instructions> / Q <int8>...  same for the int8 API (int8 programs only), or for the integer API
 *                                 of TFLite programs (TF_MODEL_INT: int8/int16/int32 in and out)
 * -DTF_HARNESS_INT_ONLY skips the float API (what a TFLM Invoke measures: integer tensors only).
 *   TF STACK <bytes>              peak stack below main's frame (stack painting; includes the timer calls)
 *   TF INSTR_PER_TICK <n>
 *   TF END
 * Instructions = (ticks - overhead) * BOARD_INSTR_PER_TICK; a warm-up inference runs first (then stateful
 * models are reset, so each sequence of samples starts from the initial state).
 */
#include <stdint.h>
#include <string.h>
#include "board.h"
#include "model.h"
#include "test_vectors.h"
#include "uart_report.h"

#define STACK_PAINT 0xA5A5A5A5u

/* Stateful models (TFLite variable tensors) carry state from one inference to the next: each API's sequence
   of samples starts from the initial state, after its warm-up, as a fresh model instance would. */
#if TF_MODEL_STATEFUL
#define RESET_STATE() tf_model_reset()
#else
#define RESET_STATE() ((void)0)
#endif


/* Lowest stack word written since painting, as bytes below `ceiling`. */
static uint32_t stack_used(const uint32_t *ceiling) {
  const uint32_t *p = __stack_limit;
  while (p < ceiling && *p == STACK_PAINT) p++;
  return (uint32_t)((ceiling - p) * 4);
}


static void put_instr(char tag, uint64_t t0, uint64_t t1, uint64_t overhead) {
  uint64_t d = t1 - t0;
  d = d > overhead ? d - overhead : 0;
  board_putc(tag);
  board_putc(' ');
  put_u64(d * BOARD_INSTR_PER_TICK);
  board_putc('\n');
}

int main(void) {
  static float out[TF_MODEL_OUTPUT_SIZE];
  uint64_t overhead, t0, t1;
  uint32_t *ceiling;
  int32_t s, i;

  board_init();
  put_str("TF BEGIN " TF_MODEL_NAME "\n");
  overhead = overhead_ticks();
  put_str("TF OVERHEAD ");
  put_u64(overhead);
  board_putc('\n');

  /* Paint everything below main's frame (inline: this loop needs no stack of its own); the peak then
     covers tf_model_run and everything it calls. */
  ceiling = current_sp();
  {
    uint32_t *p;
    for (p = __stack_limit; p < ceiling; p++) *(volatile uint32_t *)p = STACK_PAINT;
  }
#if !defined(TF_HARNESS_INT_ONLY)
  tf_model_run(tf_test_in[0], out); /* warm-up */
  RESET_STATE();
  for (s = 0; s < tf_test_count; s++) {
    t0 = board_ticks();
    tf_model_run(tf_test_in[s], out);
    t1 = board_ticks();
    put_instr('I', t0, t1, overhead);
    put_str("O");
    for (i = 0; i < TF_MODEL_OUTPUT_SIZE; i++) {
      uint32_t bits;
      memcpy(&bits, &out[i], 4);
      board_putc(' ');
      put_hex32(bits);
    }
    board_putc('\n');
  }
#else
  (void)out;
#endif
#if TF_MODEL_INT
  {
    static tf_model_int_out_t iout[TF_MODEL_INT_OUTPUT_SIZE];
    tf_model_run_int(tf_test_iin[0], iout); /* warm-up */
    RESET_STATE();
    for (s = 0; s < tf_test_count; s++) {
      t0 = board_ticks();
      tf_model_run_int(tf_test_iin[s], iout);
      t1 = board_ticks();
      put_instr('J', t0, t1, overhead);
      put_str("Q");
      for (i = 0; i < TF_MODEL_INT_OUTPUT_SIZE; i++) {
        board_putc(' ');
        put_i32((int32_t)iout[i]);
      }
      board_putc('\n');
    }
  }
#elif TF_MODEL_INT8
  {
    static int8_t qout[TF_MODEL_INT8_OUTPUT_SIZE];
    tf_model_run_int8(tf_test_qin[0], qout); /* warm-up */
    RESET_STATE();
    for (s = 0; s < tf_test_count; s++) {
      t0 = board_ticks();
      tf_model_run_int8(tf_test_qin[s], qout);
      t1 = board_ticks();
      put_instr('J', t0, t1, overhead);
      put_str("Q");
      for (i = 0; i < TF_MODEL_INT8_OUTPUT_SIZE; i++) {
        board_putc(' ');
        put_i32(qout[i]);
      }
      board_putc('\n');
    }
  }
#endif
  put_str("TF STACK ");
  put_u64(stack_used(ceiling));
  put_str("\nTF INSTR_PER_TICK ");
  put_u64(BOARD_INSTR_PER_TICK);
  put_str("\nTF END\n");
  board_exit(0);
}
