/* What a board folder (targets/boards/<board>/) provides to the shared firmware in firmware/. */
#ifndef TF_BOARD_H
#define TF_BOARD_H

#include <stdint.h>
#include "board_config.h" /* from the board folder: BOARD_INSTR_PER_TICK, ... */

/* UART up, timer running. Called first thing in main (the FPU is already on). */
void board_init(void);
void board_putc(char c);
/* Free-running timer; BOARD_INSTR_PER_TICK converts ticks to instructions (or cycles) on this board. */
uint64_t board_ticks(void);
/* Ends the run: exit code visible to the host (QEMU semihosting), never returns. */
void board_exit(int code) __attribute__((noreturn));

/* Stack region from the linker script (stack grows down from __stack_top to __stack_limit). */
extern uint32_t __stack_limit[];
extern uint32_t __stack_top[];

#endif
