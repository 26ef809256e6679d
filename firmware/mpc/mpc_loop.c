/*
 * Fixed-rate control loop for a generated MPC controller (mpc.h/mpc.c from `tinyforge mpc`), replaying
 * compiled-in measurement/reference sequences (mpc_sequence.h) and reporting every tick over the UART:
 *   MPC BEGIN <name>
 *   MPC OVERHEAD <ticks>
 *   I <instructions>            instructions of this mpc_step call (timer overhead subtracted)
 *   U <hex float bits>...        its controls, then
 *   S <status>                   its status bits
 *   MPC OVERRUNS <n>            ticks whose mpc_step did not finish inside the control period
 *   MPC STACK <bytes>           peak stack below the loop's frame (stack painting)
 *   MPC END
 * The loop waits for the next period boundary (MPC_RATE_HZ) before each step, like a timer-driven
 * controller. Build with MPC_HOST defined to run it on the host (no board, no timing).
 * Shares the board interface of firmware/harness (board.h); the hardware-in-the-loop version reads the
 * measurement from the serial port instead of mpc_sequence.c.
 */
#include <stdint.h>
#include <string.h>
#include "mpc.h"
#include "mpc_sequence.h"

#ifdef MPC_HOST
#include <stdio.h>
#include <stdlib.h>
#define BOARD_INSTR_PER_TICK 1u
#define BOARD_CLOCK_HZ 1000000u
static void board_init(void) {}
static void board_putc(char c) { putchar(c); }
static uint64_t board_ticks(void) { return 0; }
static void board_exit(int code) { fflush(stdout); exit(code); }
#else
#include "board.h"
#define STACK_PAINT 0xA5A5A5A5u
#endif
#include "uart_report.h"


int main(void) {
  static float u[MPC_CONTROL_SIZE];
  const uint64_t period = (uint64_t)(BOARD_CLOCK_HZ / MPC_RATE_HZ);
  uint64_t overhead, t0, t1, deadline;
  uint32_t overruns = 0;
  int32_t t, c;
#ifndef MPC_HOST
  uint32_t *ceiling, *p;
#endif

  board_init();
  put_str("MPC BEGIN " MPC_NAME "\n");
  overhead = overhead_ticks();
  put_str("MPC OVERHEAD ");
  put_u64(overhead);
  board_putc('\n');
#ifndef MPC_HOST
  ceiling = current_sp();
  for (p = __stack_limit; p < ceiling; p++) *(volatile uint32_t *)p = STACK_PAINT;
#endif
  deadline = board_ticks() + period;
  for (t = 0; t < mpc_seq_count; t++) {
    int status;
    uint64_t d;
#ifndef MPC_HOST
    while (board_ticks() < deadline) { /* wait for the control period */ }
#endif
    deadline += period;
    t0 = board_ticks();
    status = mpc_step(mpc_seq_measurement[t], mpc_seq_reference[t], u);
    t1 = board_ticks();
    if (t1 > deadline) overruns++;
    /* a SysTick wrap whose interrupt is still pending reads as time going backwards by 2^24 ticks */
    d = t1 >= t0 ? t1 - t0 : t1 + 0x1000000u - t0;
    d = d > overhead ? d - overhead : 0;
    put_str("I ");
    put_u64(d * BOARD_INSTR_PER_TICK);
    put_str("\nU");
    for (c = 0; c < MPC_CONTROL_SIZE; c++) {
      uint32_t bits;
      memcpy(&bits, &u[c], 4);
      board_putc(' ');
      put_hex32(bits);
    }
    put_str("\nS ");
    put_u64((uint64_t)status);
    board_putc('\n');
  }
  put_str("MPC OVERRUNS ");
  put_u64(overruns);
#ifndef MPC_HOST
  {
    const uint32_t *q = __stack_limit;
    while (q < ceiling && *q == STACK_PAINT) q++;
    put_str("\nMPC STACK ");
    put_u64((uint64_t)((ceiling - q) * 4));
  }
#endif
  put_str("\nMPC END\n");
  board_exit(0);
  return 0;
}
