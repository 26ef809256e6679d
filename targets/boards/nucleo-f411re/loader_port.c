/* Nucleo-F411RE port of the resident loader: HSI -> PLL 96 MHz, USART2 (PA2/PA3, the ST-LINK virtual
   COM port) at 115200 8N1, SysTick cycle counter, flash controller (sector erase, 32-bit program). */
#include <stdint.h>
#include "port.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define RCC_CR REG(0x40023800u)
#define RCC_PLLCFGR REG(0x40023804u)
#define RCC_CFGR REG(0x40023808u)
#define RCC_AHB1ENR REG(0x40023830u)
#define RCC_APB1ENR REG(0x40023840u)
#define GPIOA_MODER REG(0x40020000u)
#define GPIOA_AFRL REG(0x40020020u)
#define USART2_SR REG(0x40004400u)
#define USART2_DR REG(0x40004404u)
#define USART2_BRR REG(0x40004408u)
#define USART2_CR1 REG(0x4000440Cu)
#define FLASH_ACR REG(0x40023C00u)
#define FLASH_KEYR REG(0x40023C04u)
#define FLASH_SR REG(0x40023C0Cu)
#define FLASH_CR REG(0x40023C10u)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SCB_AIRCR REG(0xE000ED0Cu)

#define FLASH_SR_BSY (1u << 16)
#define FLASH_SR_ERR 0x1F0u /* WRPERR PGAERR PGPERR PGSERR RDERR */
#define FLASH_CR_PG 1u
#define FLASH_CR_SER 2u
#define FLASH_CR_PSIZE32 (2u << 8)
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)

void SysTick_Handler(void);
static volatile uint32_t systick_wraps;
void SysTick_Handler(void) { systick_wraps++; }

void port_init(void) {
  /* 96 MHz from HSI 16 MHz: VCO = 16/16*384 = 384 MHz, SYSCLK = /4, USB/SDIO = /8; APB1 = 48 MHz */
  FLASH_ACR = 0x700u | 3u; /* caches on, 3 wait states */
  RCC_PLLCFGR = 16u | (384u << 6) | (1u << 16) /* P = 4 */ | (8u << 24);
  RCC_CR |= 1u << 24; /* PLLON */
  while (!(RCC_CR & (1u << 25))) {
  }
  RCC_CFGR = (4u << 10) /* APB1 /2 */ | 2u; /* SYSCLK = PLL */
  while ((RCC_CFGR & 0xCu) != 0x8u) {
  }
  RCC_AHB1ENR |= 1u;        /* GPIOA */
  RCC_APB1ENR |= 1u << 17;  /* USART2 */
  GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 4)) | (0xAu << 4); /* PA2, PA3 alternate function */
  GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFu << 8)) | (0x77u << 8); /* AF7 = USART2 */
  USART2_BRR = 0x1A1u; /* 48 MHz / 115200 = 26.0625 */
  USART2_CR1 = (1u << 13) | (1u << 3) | (1u << 2); /* UE TE RE */
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0u;
  SYST_CSR = 7u;
}

int port_getc(void) {
  uint32_t sr = USART2_SR;
  if (sr & 0x8u) (void)USART2_DR; /* overrun: clear, the frame CRC catches the loss */
  return (sr & (1u << 5)) ? (int)(USART2_DR & 0xFFu) : -1;
}

void port_putc(uint8_t c) {
  while (!(USART2_SR & (1u << 7))) {
  }
  USART2_DR = c;
}

uint64_t port_ticks(void) {
  uint32_t w1, w2, v;
  do { w1 = systick_wraps; v = SYST_CVR; w2 = systick_wraps; } while (w1 != w2);
  return ((uint64_t)w1 << 24) + (0xFFFFFFu - v);
}

static void flash_unlock(void) {
  if (FLASH_CR & FLASH_CR_LOCK) { FLASH_KEYR = 0x45670123u; FLASH_KEYR = 0xCDEF89ABu; }
}

static int flash_wait(void) {
  while (FLASH_SR & FLASH_SR_BSY) {
  }
  if (FLASH_SR & FLASH_SR_ERR) { FLASH_SR = FLASH_SR_ERR; return -1; }
  return 0;
}

static uint32_t sector_start(int i) {
  return i < 4 ? 0x08000000u + (uint32_t)i * 0x4000u : i == 4 ? 0x08010000u : 0x08020000u + (uint32_t)(i - 5) * 0x20000u;
}

int port_flash_erase(uint32_t addr, uint32_t len) {
  int i, rc = 0;
  flash_unlock();
  for (i = 0; i < 8; i++) {
    uint32_t s = sector_start(i), e = sector_start(i + 1);
    if (s < LDR_FLASH_BASE + LDR_LOADER_SIZE || e <= addr || s >= addr + len) continue; /* never the loader */
    if (flash_wait()) rc = -1;
    FLASH_CR = FLASH_CR_SER | FLASH_CR_PSIZE32 | ((uint32_t)i << 3);
    FLASH_CR |= FLASH_CR_STRT;
    if (flash_wait()) rc = -1;
  }
  FLASH_CR = FLASH_CR_LOCK;
  return rc;
}

int port_flash_write(uint32_t addr, const uint8_t *data, uint32_t len) {
  uint32_t i;
  int rc = 0;
  if ((addr | len) & 3u || addr < LDR_FLASH_BASE + LDR_LOADER_SIZE) return -1;
  flash_unlock();
  FLASH_CR = FLASH_CR_PG | FLASH_CR_PSIZE32;
  for (i = 0; i < len && !rc; i += 4) {
    uint32_t w = (uint32_t)data[i] | ((uint32_t)data[i + 1] << 8) | ((uint32_t)data[i + 2] << 16) | ((uint32_t)data[i + 3] << 24);
    *(volatile uint32_t *)(addr + i) = w;
    rc = flash_wait();
  }
  FLASH_CR = FLASH_CR_LOCK;
  return rc;
}

void port_reset(void) {
  while (!(USART2_SR & (1u << 6))) { /* TC: last byte out */
  }
  __asm__ volatile("dsb" ::: "memory");
  SCB_AIRCR = 0x05FA0004u;
  for (;;) {
  }
}
