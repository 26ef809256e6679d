/* Teensy 3.6 (NXP MK66FX1M0: Cortex-M4F, 1 MiB flash in 4 KiB sectors, 256 KiB RAM) layout for the
   resident loader. Runs on the reset clock (FEI, ~20.97 MHz) to keep the port small. */
#ifndef TF_LOADER_CONFIG_H
#define TF_LOADER_CONFIG_H
#define LDR_BOARD_ID "teensy36"
#define LDR_FLASH_BASE 0x00000000u
#define LDR_FLASH_SIZE 0x00100000u
#define LDR_LOADER_SIZE 0x00010000u
#define LDR_STATE_ADDR 0x00010000u
#define LDR_STATE_PAGE 0x00001000u
#define LDR_SLOT0_ADDR 0x00020000u
#define LDR_SLOT0_SIZE 0x00070000u /* 448 KiB */
#define LDR_SLOT1_ADDR 0x00090000u
#define LDR_SLOT1_SIZE 0x00070000u
#define LDR_ERASE_UNIT 0x00001000u
#define LDR_RAM_BASE 0x1FFF0000u
#define LDR_RAM_SIZE 0x00040000u
#define LDR_MODEL_RAM_ADDR 0x20000000u /* SRAM_U (192 KiB); the loader lives in SRAM_L */
#define LDR_MODEL_RAM_SIZE 0x00030000u
#define LDR_MAX_DATA 4096u
#define LDR_INSTR_PER_TICK 1u /* SysTick at the core clock: cycles */
#define LDR_CLOCK_HZ 20971520u
#endif
