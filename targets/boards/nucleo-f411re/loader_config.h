/* Nucleo-F411RE (STM32F411RE: Cortex-M4F, 512 KiB flash, 128 KiB RAM) layout for the resident loader.
   Flash sectors: 0-3 = 16 KiB, 4 = 64 KiB, 5-7 = 128 KiB. Loader in sectors 0-1, commit records in
   sectors 2 and 3 (one page each), slot 0 = sectors 4-5, slot 1 = sectors 6-7. */
#ifndef TF_LOADER_CONFIG_H
#define TF_LOADER_CONFIG_H
#define LDR_BOARD_ID "nucleo-f411re"
#define LDR_FLASH_BASE 0x08000000u
#define LDR_FLASH_SIZE 0x00080000u
#define LDR_LOADER_SIZE 0x00008000u
#define LDR_STATE_ADDR 0x08008000u
#define LDR_STATE_PAGE 0x00004000u
#define LDR_SLOT0_ADDR 0x08010000u
#define LDR_SLOT0_SIZE 0x00030000u /* 192 KiB */
#define LDR_SLOT1_ADDR 0x08040000u
#define LDR_SLOT1_SIZE 0x00040000u /* 256 KiB */
#define LDR_ERASE_UNIT 0x00020000u /* largest sector; the port erases every sector a range touches */
#define LDR_RAM_BASE 0x20000000u
#define LDR_RAM_SIZE 0x00020000u
#define LDR_MODEL_RAM_ADDR 0x20006000u /* loader: first 24 KiB */
#define LDR_MODEL_RAM_SIZE 0x0001A000u
#define LDR_MAX_DATA 2048u
#define LDR_INSTR_PER_TICK 1u /* SysTick at HCLK: cycles, not instructions */
#define LDR_CLOCK_HZ 96000000u
#endif
