/*
 * Hardware-in-the-loop control loop for a generated MPC controller (mpc.h/mpc.c from `tinyforge mpc`, plus
 * model.h/model.c for int8 forward models): the plant runs on the host (compiler/mpc/hil.ts), the controller
 * here, in a fixed-rate loop fed over the UART. The host always speaks first (QEMU 7.2 drops guest output until
 * a client opens the pty), so the board only ever answers.
 *
 * Frames (same framing as the resident loader, firmware/loader): COBS-encoded, ended by one 0x00; decoded
 *   type u8 | seq u16 | payload | crc32 u32      (little-endian, CRC-32/IEEE over type..payload)
 *   0x10 HELLO  ()                                -> 0x90 magic "MPCH" u32, measurement/reference/control sizes u16 x3,
 *                                                       pad u16, rate_hz f32, name (bytes)
 *   0x11 STEP   (measurement f32[], reference f32[]) -> 0x91 status i32, instructions u32, flags u32, u f32[]
 *               flags bit 0: the measurement arrived after its tick's deadline (the loop re-synchronized)
 *               The same seq again (the host's reply was lost) gets the cached reply; the controller does not step twice.
 *   0x12 RESET  ()                                -> 0x92 (mpc_reset; the next STEP starts a new period grid)
 *   0x13 END    ()                                -> 0x93 late ticks u32, overruns u32, stack bytes u32; then exits
 *   anything damaged or malformed                 -> 0x7F NAK (seq 0); the host retries
 * Each STEP waits for its tick's period boundary (MPC_RATE_HZ) before calling mpc_step, like a timer-driven loop.
 */
#include <stdint.h>
#include <string.h>
#include "mpc.h"
#include "board.h"
#include "uart_report.h"

/* board-specific UART receive (mpc_hil_<board>.c): one byte, or -1 when none is waiting */
int mpc_hil_getc(void);

#define STACK_PAINT 0xA5A5A5A5u
#define T_HELLO 0x10u
#define T_STEP 0x11u
#define T_RESET 0x12u
#define T_END 0x13u
#define T_REPLY 0x80u
#define T_NAK 0x7Fu
#define STEP_FLOATS (MPC_MEASUREMENT_SIZE + MPC_REFERENCE_SIZE)
#define RAW_MAX (3 + 4 * (STEP_FLOATS > 16 ? STEP_FLOATS : 16) + 4 + 64)
#define ENC_MAX (RAW_MAX + RAW_MAX / 254 + 2)

static uint8_t rx[ENC_MAX];
static uint8_t raw[RAW_MAX];
static uint8_t reply[RAW_MAX];
static uint8_t enc[ENC_MAX];
static uint32_t crc_table[256];

static void crc_init(void) {
  uint32_t i, k, c;
  for (i = 0; i < 256u; i++) {
    c = i;
    for (k = 0; k < 8u; k++) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32(const uint8_t *d, uint32_t n) {
  uint32_t c = 0xFFFFFFFFu, i;
  for (i = 0; i < n; i++) c = crc_table[(c ^ d[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* COBS-decodes rx[0..n) into raw; returns the decoded length or -1 */
static int32_t cobs_decode(uint32_t n) {
  uint32_t i = 0, o = 0, k;
  while (i < n) {
    const uint32_t code = rx[i++];
    if (code == 0u) return -1;
    for (k = 1; k < code; k++) {
      if (i >= n || o >= RAW_MAX) return -1;
      raw[o++] = rx[i++];
    }
    if (code != 0xFFu && i < n) {
      if (o >= RAW_MAX) return -1;
      raw[o++] = 0;
    }
  }
  return (int32_t)o;
}

/* sends reply[0..n) (type, seq and payload already in place) with its CRC, COBS-encoded, then 0x00 */
static void send_frame(uint32_t n) {
  uint32_t i, o = 1, code_at = 0, code = 1;
  put32(reply + n, crc32(reply, n));
  n += 4;
  for (i = 0; i < n; i++) {
    if (reply[i] == 0) {
      enc[code_at] = (uint8_t)code; code_at = o++; code = 1;
    } else {
      enc[o++] = reply[i];
      if (++code == 0xFFu) { enc[code_at] = (uint8_t)code; code_at = o++; code = 1; }
    }
  }
  enc[code_at] = (uint8_t)code;
  for (i = 0; i < o; i++) board_putc((char)enc[i]);
  board_putc(0);
}

static void send_nak(void) {
  reply[0] = T_NAK; reply[1] = 0; reply[2] = 0;
  send_frame(3);
}


int main(void) {
  static float meas[MPC_MEASUREMENT_SIZE], ref[MPC_REFERENCE_SIZE], u[MPC_CONTROL_SIZE];
  const uint64_t period = (uint64_t)(BOARD_CLOCK_HZ / MPC_RATE_HZ);
  uint64_t overhead, deadline = 0;
  uint32_t late = 0, overruns = 0, n = 0, reply_len = 0;
  int32_t last_seq = -1, started = 0;
  uint32_t *ceiling, *p;

  board_init();
  crc_init();
  overhead = overhead_ticks();
  ceiling = current_sp();
  for (p = __stack_limit; p < ceiling; p++) *(volatile uint32_t *)p = STACK_PAINT;

  for (;;) {
    int c = mpc_hil_getc();
    int32_t len;
    uint32_t type, seq;
    if (c < 0) continue;
    if (c != 0) {
      if (n < ENC_MAX) rx[n] = (uint8_t)c;
      n++;
      continue;
    }
    if (n == 0) continue;
    len = n <= ENC_MAX ? cobs_decode(n) : -1;
    n = 0;
    if (len < 7 || get32(raw + len - 4) != crc32(raw, (uint32_t)len - 4)) { send_nak(); continue; }
    type = raw[0];
    seq = (uint32_t)raw[1] | ((uint32_t)raw[2] << 8);
    len -= 7; /* payload bytes */
    reply[0] = (uint8_t)(type | T_REPLY); reply[1] = raw[1]; reply[2] = raw[2];
    if (type == T_HELLO) {
      const char *name = MPC_NAME;
      uint32_t k = 0;
      float rate = (float)MPC_RATE_HZ;
      put32(reply + 3, 0x4843504Du); /* "MPCH" */
      reply[7] = (uint8_t)MPC_MEASUREMENT_SIZE; reply[8] = (uint8_t)(MPC_MEASUREMENT_SIZE >> 8);
      reply[9] = (uint8_t)MPC_REFERENCE_SIZE; reply[10] = (uint8_t)(MPC_REFERENCE_SIZE >> 8);
      reply[11] = (uint8_t)MPC_CONTROL_SIZE; reply[12] = (uint8_t)(MPC_CONTROL_SIZE >> 8);
      reply[13] = 0; reply[14] = 0;
      memcpy(reply + 15, &rate, 4);
      while (name[k] && k < 48u) { reply[19 + k] = (uint8_t)name[k]; k++; }
      send_frame(19 + k);
    } else if (type == T_STEP) {
      uint64_t t0, t1, d, now;
      uint32_t flags = 0;
      int status, k;
      if ((int32_t)seq == last_seq && reply_len) { send_frame(reply_len); continue; } /* a retry: same answer */
      if (len != 4 * STEP_FLOATS) { send_nak(); continue; }
      memcpy(meas, raw + 3, 4 * MPC_MEASUREMENT_SIZE);
      memcpy(ref, raw + 3 + 4 * MPC_MEASUREMENT_SIZE, 4 * MPC_REFERENCE_SIZE);
      now = board_ticks();
      if (!started) { deadline = now; started = 1; }
      if (now > deadline) { late++; flags |= 1u; deadline = now; }
      while (board_ticks() < deadline) { /* wait for the tick's period boundary */ }
      t0 = board_ticks();
      status = mpc_step(meas, ref, u);
      t1 = board_ticks();
      deadline += period;
      if (t1 > deadline) overruns++;
      /* a SysTick wrap whose interrupt is still pending reads as time going backwards by 2^24 ticks */
      d = t1 >= t0 ? t1 - t0 : t1 + 0x1000000u - t0;
      d = d > overhead ? d - overhead : 0;
      put32(reply + 3, (uint32_t)status);
      put32(reply + 7, (uint32_t)(d * BOARD_INSTR_PER_TICK));
      put32(reply + 11, flags);
      for (k = 0; k < MPC_CONTROL_SIZE; k++) memcpy(reply + 15 + 4 * k, &u[k], 4);
      reply_len = 15 + 4 * MPC_CONTROL_SIZE;
      last_seq = (int32_t)seq;
      send_frame(reply_len);
    } else if (type == T_RESET) {
      mpc_reset();
      started = 0;
      last_seq = -1;
      reply_len = 0;
      send_frame(3);
    } else if (type == T_END) {
      const uint32_t *q = __stack_limit;
      while (q < ceiling && *q == STACK_PAINT) q++;
      put32(reply + 3, late);
      put32(reply + 7, overruns);
      put32(reply + 11, (uint32_t)((ceiling - q) * 4));
      send_frame(15);
      /* let the last bytes leave the UART before QEMU exits */
      {
        const uint64_t until = board_ticks() + BOARD_CLOCK_HZ / 20u;
        while (board_ticks() < until) { }
      }
      board_exit(0);
    } else {
      send_nak();
    }
  }
}
