/* Teensy 3.6 port of the resident loader: watchdog off, UART0 on pins 0/1 (PTB16 RX, PTB17 TX) at
   115200 8N1, SysTick cycle counter, FTFE flash controller (4 KiB sector erase, 8-byte phrase program;
   the command launch runs from RAM). The flash configuration field at 0x400 keeps the chip unsecured. */
#include <stdint.h>
#include "port.h"

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG16(a) (*(volatile uint16_t *)(a))
#define REG8(a) (*(volatile uint8_t *)(a))
#define WDOG_STCTRLH REG16(0x40052000u)
#define WDOG_UNLOCK REG16(0x4005200Eu)
#define SIM_SCGC4 REG32(0x40048034u)
#define SIM_SCGC5 REG32(0x40048038u)
#define PORTB_PCR16 REG32(0x4004A040u)
#define PORTB_PCR17 REG32(0x4004A044u)
#define UART0_BDH REG8(0x4006A000u)
#define UART0_BDL REG8(0x4006A001u)
#define UART0_C2 REG8(0x4006A003u)
#define UART0_S1 REG8(0x4006A004u)
#define UART0_D REG8(0x4006A007u)
#define UART0_C4 REG8(0x4006A00Au)
#define FTFE_FSTAT REG8(0x40020000u)
#define FTFE_FCCOB(n) REG8(0x40020004u + ((n) & ~3u) + 3u - ((n) & 3u)) /* FCCOB0..B, big-endian in each word */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SCB_AIRCR REG32(0xE000ED0Cu)

#define FSTAT_CCIF 0x80u
#define FSTAT_ERR 0x70u /* RDCOLERR ACCERR FPVIOL */

__attribute__((section(".flashconfig"), used))
const uint8_t ldr_flashconfig[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xDE, 0xF9, 0xFF, 0xFF};

void SysTick_Handler(void);
static volatile uint32_t systick_wraps;
void SysTick_Handler(void) { systick_wraps++; }

void port_init(void) {
  WDOG_UNLOCK = 0xC520u;
  WDOG_UNLOCK = 0xD928u;
  __asm__ volatile("nop\n\tnop");
  WDOG_STCTRLH = 0x0010u; /* ALLOWUPDATE, watchdog off */
  SIM_SCGC5 |= 1u << 10;  /* PORTB */
  SIM_SCGC4 |= 1u << 10;  /* UART0 */
  PORTB_PCR16 = (3u << 8) | 0x13u; /* ALT3 = UART0_RX, pull-up, passive filter */
  PORTB_PCR17 = (3u << 8) | 0x40u; /* ALT3 = UART0_TX, high drive */
  /* 20.97152 MHz / (16 * (11 + 12/32)) = 115228 baud */
  UART0_BDH = 0u;
  UART0_BDL = 11u;
  UART0_C4 = 12u;
  UART0_C2 = 0x0Cu; /* TE RE */
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0u;
  SYST_CSR = 7u;
}

int port_getc(void) {
  uint8_t s = UART0_S1;
  if (s & 0x28u) return (int)UART0_D; /* RDRF (or OR: reading D clears it) */
  return -1;
}

void port_putc(uint8_t c) {
  while (!(UART0_S1 & 0x80u)) {
  }
  UART0_D = c;
}

uint64_t port_ticks(void) {
  uint32_t w1, w2, v;
  do { w1 = systick_wraps; v = SYST_CVR; w2 = systick_wraps; } while (w1 != w2);
  return ((uint64_t)w1 << 24) + (0xFFFFFFu - v);
}

/* Launches the loaded FTFE command and waits; in RAM because flash cannot be read meanwhile. */
__attribute__((section(".ramfunc"), noinline, long_call))
static uint8_t ftfe_launch(void) {
  FTFE_FSTAT = FSTAT_CCIF;
  while (!(FTFE_FSTAT & FSTAT_CCIF)) {
  }
  return FTFE_FSTAT;
}

static int ftfe_cmd(uint8_t cmd, uint32_t addr, const uint8_t *data) {
  uint32_t primask, i;
  uint8_t st;
  while (!(FTFE_FSTAT & FSTAT_CCIF)) {
  }
  FTFE_FSTAT = FSTAT_ERR;
  FTFE_FCCOB(0) = cmd;
  FTFE_FCCOB(1) = (uint8_t)(addr >> 16);
  FTFE_FCCOB(2) = (uint8_t)(addr >> 8);
  FTFE_FCCOB(3) = (uint8_t)addr;
  if (data) for (i = 0; i < 8u; i++) FTFE_FCCOB(4u + i) = data[(i & ~3u) + 3u - (i & 3u)]; /* FCCOB4..7 = bytes 3..0 */
  __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask));
  st = ftfe_launch();
  __asm__ volatile("msr primask, %0" ::"r"(primask));
  return (st & FSTAT_ERR) ? -1 : 0;
}

int port_flash_erase(uint32_t addr, uint32_t len) {
  uint32_t a = addr & ~(LDR_ERASE_UNIT - 1u);
  int rc = 0;
  for (; a < addr + len; a += LDR_ERASE_UNIT) {
    if (a < LDR_LOADER_SIZE) return -1; /* never the loader (nor the flash configuration field) */
    if (ftfe_cmd(0x09u, a, 0)) rc = -1;
  }
  return rc;
}

int port_flash_write(uint32_t addr, const uint8_t *data, uint32_t len) {
  uint32_t i;
  uint8_t phrase[8];
  if (addr < LDR_LOADER_SIZE || (addr & 7u) || (len & 3u)) return -1;
  for (i = 0; i < len; i += 8) {
    uint32_t k;
    for (k = 0; k < 8u; k++) phrase[k] = i + k < len ? data[i + k] : 0xFFu;
    if (ftfe_cmd(0x07u, addr + i, phrase)) return -1;
  }
  return 0;
}

void port_reset(void) {
  while (!(UART0_S1 & 0x40u)) { /* TC */
  }
  __asm__ volatile("dsb" ::: "memory");
  SCB_AIRCR = 0x05FA0004u;
  for (;;) {
  }
}
