/*
 * The loader protocol (host side: compiler/device/protocol.ts; keep the two in step).
 *
 * Wire: every frame is COBS-encoded and ends with one 0x00 byte. A decoded frame is
 *   type u8 | seq u16 | payload ... | crc32 u32      (little-endian; CRC-32/IEEE over type..payload)
 * The host sends a request (type 0x01..0x08) and waits for the response: type = request | 0x80, the same
 * seq, payload[0] = status (LDR_OK or an error), then the command's data. A frame that fails COBS, CRC or
 * length checks is answered with a NAK (type 0x7F, seq 0xFFFF, payload = reason); the host retransmits.
 * The board keeps its last response: a request repeating the last seq and CRC (a retry after a lost
 * response) gets that response again without being executed twice. The host initiates everything.
 */
#ifndef TF_LOADER_PROTO_H
#define TF_LOADER_PROTO_H

#define LDR_PROTO_VERSION 1u
#define LDR_VERSION 0x0100u /* 1.0 */
#define LDR_HELLO_MAGIC 0x444C4654u /* "TFLD" */
#define LDR_COMMIT_MAGIC 0x52434654u /* "TFCR" */
#define LDR_COMMIT_MARKER 0x454E4F44u /* "DONE": written last, makes a commit record valid */

enum {
  LDR_HELLO = 0x01, /* -> board info, active model */
  LDR_ERASE = 0x02, /* addr u32, len u32 (inside the inactive slot) */
  LDR_WRITE = 0x03, /* addr u32, data (len % 4 == 0, inside the inactive slot) */
  LDR_READ = 0x04,  /* addr u32, len u16 -> data */
  LDR_CRC = 0x05,   /* addr u32, len u32 -> crc32 u32 */
  LDR_COMMIT = 0x06,/* slot u8, 3 pad, size u32, crc u32, hash[16], name[24] -> commit seq u32 */
  LDR_RUN = 0x07,   /* mode u8 (0 float, 1 int8), count u8, 2 pad, inputs -> count u8, 3 pad, per sample: instructions u32, outputs */
  LDR_RESET = 0x08, /* -> ok, then the board resets */
  LDR_NAK = 0x7F
};

enum {
  LDR_OK = 0,
  LDR_E_ARGS = 1,     /* malformed request */
  LDR_E_RANGE = 2,    /* address range not allowed (loader, active slot, outside flash) */
  LDR_E_FLASH = 3,    /* erase/program failed or read back differently */
  LDR_E_CRC = 4,      /* commit: the slot's CRC is not the one given */
  LDR_E_IMAGE = 5,    /* commit: not a valid model image for this slot/board */
  LDR_E_NO_MODEL = 6, /* run: no committed model */
  LDR_E_UNKNOWN = 7,  /* unknown request type */
  LDR_E_SIZE = 8      /* too large for a frame / the slot */
};

enum { LDR_NAK_CRC = 1, LDR_NAK_COBS = 2, LDR_NAK_OVERFLOW = 3, LDR_NAK_SHORT = 4 };

#endif
