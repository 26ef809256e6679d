/* mps2-an386 under QEMU with -icount shift=0: 1 instruction = 1 ns, SysTick runs at 25 MHz = 40 ns. */
#ifndef TF_BOARD_CONFIG_H
#define TF_BOARD_CONFIG_H
#define BOARD_NAME "mps2-an386"
#define BOARD_CLOCK_HZ 25000000u
#define BOARD_INSTR_PER_TICK 40u
#endif
