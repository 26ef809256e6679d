/* mps2-an386 (QEMU) memory layout for the resident loader (firmware/loader). The 4 MiB SSRAM at 0 acts
   as flash (erase = fill 0xFF, program = AND, like NOR); QEMU keeps it across a system reset. */
#ifndef TF_LOADER_CONFIG_H
#define TF_LOADER_CONFIG_H
#define LDR_BOARD_ID "mps2-an386"
#define LDR_FLASH_BASE 0x00000000u
#define LDR_FLASH_SIZE 0x00400000u
#define LDR_LOADER_SIZE 0x00010000u  /* 64 KiB loader */
#define LDR_STATE_ADDR 0x00010000u   /* two 4 KiB commit-record pages */
#define LDR_STATE_PAGE 0x00001000u
#define LDR_SLOT0_ADDR 0x00020000u
#define LDR_SLOT0_SIZE 0x001F0000u   /* 1984 KiB */
#define LDR_SLOT1_ADDR 0x00210000u
#define LDR_SLOT1_SIZE 0x001F0000u
#define LDR_ERASE_UNIT 0x00001000u
#define LDR_RAM_BASE 0x20000000u
#define LDR_RAM_SIZE 0x00400000u
#define LDR_MODEL_RAM_ADDR 0x20040000u /* the loader keeps the first 256 KiB */
#define LDR_MODEL_RAM_SIZE 0x003C0000u
#define LDR_MAX_DATA 4096u
#define LDR_INSTR_PER_TICK 40u
#define LDR_CLOCK_HZ 25000000u
#endif
