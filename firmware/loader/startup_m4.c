/* Cortex-M4F startup for the resident loader (all boards): vector table, FPU on, .data/.bss, main.
   A fault resets into the loader (ldr_fault) instead of stopping, so a crashing model never leaves the
   board without its loader. The board port defines SysTick_Handler. */
#include <stdint.h>

extern uint32_t __stack_top[];

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
int main(void);
void ldr_fault(uint32_t pc) __attribute__((noreturn));

void Reset_Handler(void) __attribute__((noreturn));
void Ldr_Fault_Handler(void);
void Ldr_Default_Handler(void);
void SysTick_Handler(void);
void ldr_fault_frame(const uint32_t *frame);

__attribute__((section(".isr_vector"), used))
const void *const ldr_vectors[16] = {
  __stack_top,
  (const void *)Reset_Handler,
  (const void *)Ldr_Default_Handler, /* NMI */
  (const void *)Ldr_Fault_Handler,   /* HardFault */
  (const void *)Ldr_Fault_Handler,   /* MemManage */
  (const void *)Ldr_Fault_Handler,   /* BusFault */
  (const void *)Ldr_Fault_Handler,   /* UsageFault */
  0, 0, 0, 0,
  (const void *)Ldr_Default_Handler, /* SVCall */
  (const void *)Ldr_Default_Handler, /* DebugMonitor */
  0,
  (const void *)Ldr_Default_Handler, /* PendSV */
  (const void *)SysTick_Handler,
};

void Reset_Handler(void) {
  volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
  uint32_t *src, *dst;
  *cpacr |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  for (src = _sidata, dst = _sdata; dst < _edata;) *dst++ = *src++;
  for (dst = _sbss; dst < _ebss;) *dst++ = 0;
  main();
  for (;;) {
  }
}

void ldr_fault_frame(const uint32_t *frame) {
  ldr_fault(frame ? frame[6] : 0u);
}

__attribute__((naked)) void Ldr_Fault_Handler(void) {
  __asm__ volatile(
    "tst lr, #4\n\t"
    "ite eq\n\t"
    "mrseq r0, msp\n\t"
    "mrsne r0, psp\n\t"
    "b ldr_fault_frame\n\t");
}

void Ldr_Default_Handler(void) {
  ldr_fault(0xFFFFFFFFu);
}
