/* mps2-an386 startup: vector table, reset (FPU on, .data/.bss), SysTick wrap counter, fault report. */
#include <stdint.h>
#include "board.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
int main(void);

void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void board_fault_report(const uint32_t *frame, uint32_t exc_return);

/* 16 system exceptions; no device interrupts are used. */
__attribute__((section(".isr_vector"), used))
const void *const tf_vectors[16] = {
  __stack_top,
  (const void *)Reset_Handler,
  (const void *)Default_Handler,  /* NMI */
  (const void *)Fault_Handler,    /* HardFault */
  (const void *)Fault_Handler,    /* MemManage */
  (const void *)Fault_Handler,    /* BusFault */
  (const void *)Fault_Handler,    /* UsageFault */
  0, 0, 0, 0,
  (const void *)Default_Handler,  /* SVCall */
  (const void *)Default_Handler,  /* DebugMonitor */
  0,
  (const void *)Default_Handler,  /* PendSV */
  (const void *)SysTick_Handler,
};

/* Plain integer code only until the FPU is enabled: no float, no library calls. */
void Reset_Handler(void) {
  volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
  uint32_t *src, *dst;
  *cpacr |= 0xFu << 20; /* CP10 + CP11 full access */
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  for (src = _sidata, dst = _sdata; dst < _edata;) *dst++ = *src++;
  for (dst = _sbss; dst < _ebss;) *dst++ = 0;
  main();
  board_exit(0);
}

/* Hands the stacked exception frame (MSP or PSP per EXC_RETURN bit 2) to the C reporter. */
__attribute__((naked)) void Fault_Handler(void) {
  __asm__ volatile(
    "tst lr, #4\n\t"
    "ite eq\n\t"
    "mrseq r0, msp\n\t"
    "mrsne r0, psp\n\t"
    "mov r1, lr\n\t"
    "b board_fault_report\n\t");
}

void Default_Handler(void) {
  board_fault_report(0, 0);
}
