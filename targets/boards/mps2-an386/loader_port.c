/* mps2-an386 port of the resident loader: UART/SysTick from board.c, SSRAM as NOR-like flash. */
#include <stdint.h>
#include <string.h>
#include "board.h"
#include "port.h"

#define UART_STATE (*(volatile uint32_t *)0x40004004u)
#define UART_DATA (*(volatile uint32_t *)0x40004000u)
#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)

void port_init(void) { board_init(); }

int port_getc(void) {
  return (UART_STATE & 2u) ? (int)(UART_DATA & 0xFFu) : -1;
}

void port_putc(uint8_t c) { board_putc((char)c); }

uint64_t port_ticks(void) { return board_ticks(); }

int port_flash_erase(uint32_t addr, uint32_t len) {
  uint32_t start = addr & ~(LDR_ERASE_UNIT - 1u);
  uint32_t end = (addr + len + LDR_ERASE_UNIT - 1u) & ~(LDR_ERASE_UNIT - 1u);
  memset((void *)start, 0xFF, end - start);
  return 0;
}

int port_flash_write(uint32_t addr, const uint8_t *data, uint32_t len) {
  volatile uint8_t *p = (volatile uint8_t *)addr;
  uint32_t i;
  for (i = 0; i < len; i++) p[i] &= data[i]; /* programming only clears bits */
  return 0;
}

void port_reset(void) {
  __asm__ volatile("dsb" ::: "memory");
  SCB_AIRCR = 0x05FA0004u; /* SYSRESETREQ */
  __asm__ volatile("dsb" ::: "memory");
  for (;;) {
  }
}
