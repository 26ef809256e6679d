/* mpc_hil.c's UART receive on mps2-an386 (CMSDK APB UART0, the first -serial of QEMU; RX enabled by board_init). */
#include <stdint.h>

#define UART_DATA (*(volatile uint32_t *)0x40004000u)
#define UART_STATE (*(volatile uint32_t *)0x40004004u)

int mpc_hil_getc(void);

int mpc_hil_getc(void) {
  return (UART_STATE & 2u) ? (int)(UART_DATA & 0xFFu) : -1;
}
