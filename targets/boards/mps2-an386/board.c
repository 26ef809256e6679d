/* mps2-an386 board support: CMSDK UART0, SysTick tick counter, semihosting exit, fault report. */
#include <stdint.h>
#include "board.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8u))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

void SysTick_Handler(void);
void board_fault_report(const uint32_t *frame, uint32_t exc_return);

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) {
  systick_wraps++;
}

void board_init(void) {
  UART_BAUDDIV = 16u; /* QEMU warns below 16; the value is otherwise irrelevant under emulation */
  UART_CTRL = 3u;     /* TX + RX enable */
  SYST_RVR = 0xFFFFFFu; /* 24-bit down counter, wraps counted in the interrupt */
  SYST_CVR = 0u;
  SYST_CSR = 7u;        /* enable, interrupt, processor clock */
}

void board_putc(char c) {
  while (UART_STATE & 1u) {
  }
  UART_DATA = (uint32_t)(uint8_t)c;
}

uint64_t board_ticks(void) {
  uint32_t w1, w2, v;
  do {
    w1 = systick_wraps;
    v = SYST_CVR;
    w2 = systick_wraps;
  } while (w1 != w2);
  return ((uint64_t)w1 << 24) + (0xFFFFFFu - v);
}

void board_exit(int code) {
  /* SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit for 0, else SYS_EXIT_EXTENDED (0x20) */
  static volatile uint32_t block[2];
  register uint32_t r0 __asm__("r0");
  register uint32_t r1 __asm__("r1");
  block[0] = 0x20026u;
  block[1] = (uint32_t)code;
  if (code == 0) {
    r0 = 0x18u;
    r1 = 0x20026u;
  } else {
    r0 = 0x20u;
    r1 = (uint32_t)block;
  }
  __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
  for (;;) {
  }
}

static void put_str(const char *s) {
  while (*s) board_putc(*s++);
}

static void put_hex(uint32_t v) {
  int i;
  for (i = 28; i >= 0; i -= 4) board_putc("0123456789abcdef"[(v >> i) & 0xfu]);
}

void board_fault_report(const uint32_t *frame, uint32_t exc_return) {
  put_str("\nTF FAULT");
  if (frame) {
    put_str(" pc=");
    put_hex(frame[6]);
    put_str(" lr=");
    put_hex(frame[5]);
    put_str(" cfsr=");
    put_hex(*(volatile uint32_t *)0xE000ED28u);
    put_str(" exc_return=");
    put_hex(exc_return);
  } else {
    put_str(" unexpected exception");
  }
  put_str("\n");
  board_exit(3);
}
