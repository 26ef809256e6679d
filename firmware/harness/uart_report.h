/*
 * Text records over the board UART, shared by the test harness and the MPC firmware: numbers without printf
 * (no libc formatting in the image), the timer overhead to subtract from measurements, and the stack pointer
 * for stack painting. Include after board.h (board_putc / board_ticks).
 */
#ifndef TF_UART_REPORT_H
#define TF_UART_REPORT_H

#include <stdint.h>

static inline void put_str(const char *s) {
  while (*s) board_putc(*s++);
}

static inline void put_hex32(uint32_t v) {
  int i;
  for (i = 28; i >= 0; i -= 4) board_putc("0123456789abcdef"[(v >> i) & 0xfu]);
}

static inline void put_u64(uint64_t v) {
  char buf[21];
  int n = 0;
  do { buf[n++] = (char)('0' + (int)(v % 10u)); v /= 10u; } while (v);
  while (n) board_putc(buf[--n]);
}

static inline void put_i32(int32_t v) {
  if (v < 0) { board_putc('-'); put_u64((uint64_t)(-(int64_t)v)); } else put_u64((uint64_t)v);
}

/* The cheapest of 8 empty timed regions: subtracted from every measurement. */
static inline uint64_t overhead_ticks(void) {
  uint64_t best = ~(uint64_t)0;
  int k;
  for (k = 0; k < 8; k++) {
    uint64_t t0 = board_ticks();
    uint64_t t1 = board_ticks();
    if (t1 - t0 < best) best = t1 - t0;
  }
  return best;
}

#if defined(__arm__)
static inline uint32_t *current_sp(void) __attribute__((always_inline));
static inline uint32_t *current_sp(void) {
  uint32_t *sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  return sp;
}
#endif

#endif
