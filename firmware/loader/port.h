/*
 * What a board folder provides to the resident loader (firmware/loader/loader.c): UART, a tick
 * counter, flash erase/program and reset. The memory layout comes from the board's loader_config.h:
 *   LDR_BOARD_ID, LDR_FLASH_BASE/SIZE, LDR_LOADER_SIZE, LDR_STATE_ADDR + LDR_STATE_PAGE (two pages),
 *   LDR_SLOT0_ADDR/SIZE, LDR_SLOT1_ADDR/SIZE, LDR_ERASE_UNIT, LDR_RAM_BASE/SIZE,
 *   LDR_MODEL_RAM_ADDR/SIZE, LDR_MAX_DATA, LDR_INSTR_PER_TICK, LDR_CLOCK_HZ
 */
#ifndef TF_LOADER_PORT_H
#define TF_LOADER_PORT_H

#include <stdint.h>
#include "loader_config.h"

void port_init(void);
/* next received byte, or -1 when none is waiting (never blocks) */
int port_getc(void);
void port_putc(uint8_t c);
/* free-running tick counter; LDR_INSTR_PER_TICK converts to instructions (or cycles) */
uint64_t port_ticks(void);
/* Erase the erase units covering [addr, addr + len): bytes read 0xFF afterwards. 0 = ok. */
int port_flash_erase(uint32_t addr, uint32_t len);
/* Program len bytes (addr and len multiples of 4 or of the board's program unit). 0 = ok. */
int port_flash_write(uint32_t addr, const uint8_t *data, uint32_t len);
void port_reset(void) __attribute__((noreturn));

#endif
