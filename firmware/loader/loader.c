/*
 * tinyforge resident loader: receives model images over the board UART, keeps two model slots and
 * runs the active model on request. Protocol: loader_proto.h. Board specifics: port.h + the board
 * folder's loader_config.h / loader_port.c.
 *
 * Safety rules:
 *  - erase/write are accepted only inside the inactive slot: the loader, the state pages and the active
 *    model are never written by a request;
 *  - a slot becomes active only through COMMIT, which recomputes the CRC of the whole image, checks the
 *    image header against the slot and board, then writes a commit record into the older of two state
 *    pages; the record carries its own CRC and its last word (marker) is programmed last, so a record cut
 *    short is simply invalid and the previous record (the previous model) stays in force;
 *  - at boot the newest valid record whose image still has the recorded CRC wins.
 */
#include <stdint.h>
#include <string.h>
#include "port.h"
#include "loader_proto.h"
#include "tf_image.h"

#define FRAME_MAX (LDR_MAX_DATA + 64u)
#define RAW_MAX (FRAME_MAX + FRAME_MAX / 254u + 4u)

struct commit_rec {
  uint32_t magic;
  uint32_t seq;
  uint32_t slot;
  uint32_t size;
  uint32_t crc;
  uint8_t hash[16];
  char name[24];
  uint32_t rec_crc; /* CRC-32 of the fields above */
  uint32_t marker;  /* LDR_COMMIT_MARKER, programmed last */
};

static uint32_t crc_table[256];
static uint8_t rx_raw[RAW_MAX];
static uint8_t rx[FRAME_MAX];
static uint8_t tx[FRAME_MAX];
static uint8_t tx_enc[RAW_MAX];
static uint32_t tx_enc_len;
static int have_last;
static uint16_t last_seq;
static uint32_t last_req_crc;

static uint32_t sample_in[LDR_MAX_DATA / 4u];
static uint32_t sample_out[LDR_MAX_DATA / 4u];

static int active_slot = -1;
static int active_page = -1;
static struct commit_rec active_rec;
static uint64_t tick_overhead;

/* Survives a reset (not zeroed by the startup code): the pc of the last fault, reported in HELLO. */
__attribute__((section(".noinit"))) volatile uint32_t ldr_fault_magic;
__attribute__((section(".noinit"))) volatile uint32_t ldr_fault_pc;
#define FAULT_MAGIC 0xFA017EC7u

static const uint32_t slot_addr[2] = {LDR_SLOT0_ADDR, LDR_SLOT1_ADDR};
static const uint32_t slot_size[2] = {LDR_SLOT0_SIZE, LDR_SLOT1_SIZE};

/* ---- CRC-32 (IEEE 802.3, reflected, init/xorout 0xFFFFFFFF) ---- */
static void crc_init(void) {
  uint32_t i, k, c;
  for (i = 0; i < 256u; i++) {
    c = i;
    for (k = 0; k < 8u; k++) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc_update(uint32_t c, const uint8_t *p, uint32_t n) {
  while (n--) c = crc_table[(c ^ *p++) & 0xFFu] ^ (c >> 8);
  return c;
}

static uint32_t crc32(const uint8_t *p, uint32_t n) {
  return crc_update(0xFFFFFFFFu, p, n) ^ 0xFFFFFFFFu;
}

/* ---- little-endian helpers ---- */
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static uint8_t *wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
  return p + 4;
}
static uint8_t *wr16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
  return p + 2;
}

/* ---- COBS ---- */
static int32_t cobs_decode(const uint8_t *in, uint32_t n, uint8_t *out, uint32_t cap) {
  uint32_t i = 0, o = 0;
  while (i < n) {
    uint32_t code = in[i++], k;
    for (k = 1; k < code; k++) {
      if (i >= n || o >= cap) return -1;
      out[o++] = in[i++];
    }
    if (code != 0xFFu && i < n) {
      if (o >= cap) return -1;
      out[o++] = 0;
    }
  }
  return (int32_t)o;
}

static uint32_t cobs_encode(const uint8_t *in, uint32_t n, uint8_t *out) {
  uint32_t i, o = 1, code_at = 0;
  uint8_t code = 1;
  for (i = 0; i < n; i++) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = o++;
      code = 1;
    } else {
      out[o++] = in[i];
      if (++code == 0xFFu) {
        out[code_at] = code;
        code_at = o++;
        code = 1;
      }
    }
  }
  out[code_at] = code;
  return o;
}

/* ---- framing ---- */
static void send_frame(uint8_t type, uint16_t seq, uint32_t payload_len, int cache) {
  uint32_t n = 3u + payload_len, i;
  tx[0] = type;
  wr16(tx + 1, seq);
  wr32(tx + n, crc32(tx, n));
  tx_enc_len = cobs_encode(tx, n + 4u, tx_enc);
  tx_enc[tx_enc_len++] = 0;
  for (i = 0; i < tx_enc_len; i++) port_putc(tx_enc[i]);
  if (!cache) tx_enc_len = 0;
}

static void send_nak(uint8_t reason) {
  /* tx is reused: a NAK invalidates the cached response */
  have_last = 0;
  tx[3] = reason;
  send_frame(LDR_NAK, 0xFFFFu, 1, 0);
}

/* ---- slots and commit records ---- */
static int range_in(uint32_t addr, uint32_t len, uint32_t base, uint32_t size) {
  return addr >= base && len <= size && addr - base <= size - len;
}

static int writable(uint32_t addr, uint32_t len) {
  int s;
  for (s = 0; s < 2; s++)
    if (s != active_slot && range_in(addr, len, slot_addr[s], slot_size[s])) return 1;
  return 0;
}

static int read_rec(int page, struct commit_rec *r) {
  memcpy(r, (const void *)(LDR_STATE_ADDR + (uint32_t)page * LDR_STATE_PAGE), sizeof *r);
  return r->magic == LDR_COMMIT_MAGIC && r->marker == LDR_COMMIT_MARKER && r->slot < 2u &&
         r->size >= sizeof(struct tf_image_header) && r->size <= slot_size[r->slot] &&
         r->rec_crc == crc32((const uint8_t *)r, (uint32_t)offsetof(struct commit_rec, rec_crc));
}

static const struct tf_image_header *header_of(uint32_t slot) {
  return (const struct tf_image_header *)slot_addr[slot];
}

static int fn_in(uint32_t fn, uint32_t lo, uint32_t hi) {
  return (fn & 1u) && (fn & ~1u) >= lo && (fn & ~1u) < hi;
}

/* The image in `slot` (size bytes) is a model image linked for this slot and this board. */
static int image_ok(uint32_t slot, uint32_t size) {
  const struct tf_image_header *h = header_of(slot);
  uint32_t base = slot_addr[slot], end = base + size;
  if (h->magic != TF_IMAGE_MAGIC || h->version != TF_IMAGE_VERSION || h->load_addr != base) return 0;
  if (h->image_end < base + sizeof *h || h->image_end > end) return 0;
  if (!fn_in((uint32_t)h->run, base, h->image_end)) return 0;
  if (h->run_int8 && !fn_in((uint32_t)h->run_int8, base, h->image_end)) return 0;
  if (h->data_end < h->data_start || h->bss_end < h->bss_start) return 0;
  if (!range_in(h->data_load, h->data_end - h->data_start, base, h->image_end - base)) return 0;
  if (!range_in(h->data_start, h->data_end - h->data_start, LDR_MODEL_RAM_ADDR, LDR_MODEL_RAM_SIZE)) return 0;
  if (!range_in(h->bss_start, h->bss_end - h->bss_start, LDR_MODEL_RAM_ADDR, LDR_MODEL_RAM_SIZE)) return 0;
  if (h->in_size == 0 || h->out_size == 0 || h->in_size * 4u > LDR_MAX_DATA || h->out_size * 4u + 8u > LDR_MAX_DATA) return 0;
  if (h->int8_in_size > LDR_MAX_DATA || h->int8_out_size + 8u > LDR_MAX_DATA) return 0;
  if (h->run_int8 && (h->int8_in_size == 0 || h->int8_out_size == 0)) return 0;
  return 1;
}

static void select_active(void) {
  struct commit_rec r[2];
  int ok[2], order[2], i;
  active_slot = -1;
  active_page = -1;
  for (i = 0; i < 2; i++) ok[i] = read_rec(i, &r[i]);
  order[0] = (ok[0] && ok[1]) ? (r[1].seq > r[0].seq ? 1 : 0) : (ok[1] ? 1 : 0);
  order[1] = order[0] ^ 1;
  for (i = 0; i < 2; i++) {
    int p = order[i];
    if (!ok[p]) continue;
    if (crc32((const uint8_t *)slot_addr[r[p].slot], r[p].size) != r[p].crc) continue;
    if (!image_ok(r[p].slot, r[p].size)) continue;
    active_slot = (int)r[p].slot;
    active_page = p;
    active_rec = r[p];
    return;
  }
}

/* ---- commands ---- */
static uint32_t cmd_hello(uint8_t *out) {
  uint8_t *p = out;
  const struct tf_image_header *h = active_slot >= 0 ? header_of((uint32_t)active_slot) : 0;
  char id[16];
  memset(id, 0, sizeof id);
  strncpy(id, LDR_BOARD_ID, sizeof id - 1);
  memset(out, 0, 160);
  p = wr32(p, LDR_HELLO_MAGIC);
  p = wr16(p, LDR_PROTO_VERSION);
  p = wr16(p, LDR_VERSION);
  memcpy(p, id, 16); p += 16;
  p = wr32(p, LDR_FLASH_BASE);
  p = wr32(p, LDR_FLASH_SIZE);
  p = wr32(p, LDR_LOADER_SIZE);
  p = wr32(p, LDR_RAM_BASE);
  p = wr32(p, LDR_RAM_SIZE);
  p = wr32(p, LDR_SLOT0_ADDR);
  p = wr32(p, LDR_SLOT0_SIZE);
  p = wr32(p, LDR_SLOT1_ADDR);
  p = wr32(p, LDR_SLOT1_SIZE);
  p = wr32(p, LDR_ERASE_UNIT);
  p = wr32(p, LDR_MODEL_RAM_ADDR);
  p = wr32(p, LDR_MODEL_RAM_SIZE);
  p = wr16(p, LDR_MAX_DATA);
  p = wr16(p, LDR_INSTR_PER_TICK);
  p = wr32(p, LDR_CLOCK_HZ);
  *p++ = active_slot >= 0 ? (uint8_t)active_slot : 0xFFu;
  *p++ = h ? (uint8_t)(1u | (h->run_int8 ? 2u : 0u)) : 0u;
  p += 2;
  p = wr32(p, h ? active_rec.seq : 0u);
  p = wr32(p, h ? active_rec.size : 0u);
  p = wr32(p, h ? active_rec.crc : 0u);
  if (h) memcpy(p, active_rec.hash, 16);
  p += 16;
  if (h) memcpy(p, active_rec.name, 24);
  p += 24;
  p = wr32(p, h ? h->in_size : 0u);
  p = wr32(p, h ? h->out_size : 0u);
  p = wr32(p, h ? h->int8_in_size : 0u);
  p = wr32(p, h ? h->int8_out_size : 0u);
  p = wr32(p, ldr_fault_magic == FAULT_MAGIC ? ldr_fault_pc : 0u);
  p = wr32(p, LDR_STATE_ADDR);
  return (uint32_t)(p - out); /* 160 */
}

static uint8_t cmd_commit(const uint8_t *a, uint32_t n, uint8_t *out, uint32_t *out_len) {
  struct commit_rec r;
  uint32_t slot, size, crc, page, addr;
  struct commit_rec prev;
  if (n != 52u) return LDR_E_ARGS;
  slot = a[0];
  size = rd32(a + 4);
  crc = rd32(a + 8);
  if (slot > 1u || (int)slot == active_slot) return LDR_E_RANGE;
  if (size < sizeof(struct tf_image_header) || size > slot_size[slot]) return LDR_E_SIZE;
  if (crc32((const uint8_t *)slot_addr[slot], size) != crc) return LDR_E_CRC;
  if (!image_ok(slot, size)) return LDR_E_IMAGE;
  memset(&r, 0xFF, sizeof r);
  r.magic = LDR_COMMIT_MAGIC;
  r.seq = active_page >= 0 ? active_rec.seq + 1u : 1u;
  r.slot = slot;
  r.size = size;
  r.crc = crc;
  memcpy(r.hash, a + 12, 16);
  memcpy(r.name, a + 28, 24);
  r.name[23] = 0;
  r.rec_crc = crc32((const uint8_t *)&r, (uint32_t)offsetof(struct commit_rec, rec_crc));
  r.marker = LDR_COMMIT_MARKER;
  /* the page not holding the record in force (it describes an older image) */
  page = active_page >= 0 ? (uint32_t)(active_page ^ 1) : (read_rec(0, &prev) ? 1u : 0u);
  addr = LDR_STATE_ADDR + page * LDR_STATE_PAGE;
  if (port_flash_erase(addr, LDR_STATE_PAGE)) return LDR_E_FLASH;
  if (port_flash_write(addr, (const uint8_t *)&r, (uint32_t)offsetof(struct commit_rec, marker))) return LDR_E_FLASH;
  if (port_flash_write(addr + (uint32_t)offsetof(struct commit_rec, marker), (const uint8_t *)&r.marker, 4u)) return LDR_E_FLASH;
  if (memcmp((const void *)addr, &r, sizeof r)) return LDR_E_FLASH;
  select_active();
  if (active_slot != (int)slot) return LDR_E_FLASH;
  wr32(out, r.seq);
  *out_len = 4;
  return LDR_OK;
}

static uint64_t measure_overhead(void) {
  uint64_t best = ~(uint64_t)0, t0, t1;
  int k;
  for (k = 0; k < 8; k++) {
    t0 = port_ticks();
    t1 = port_ticks();
    if (t1 - t0 < best) best = t1 - t0;
  }
  return best;
}

static uint8_t cmd_run(const uint8_t *a, uint32_t n, uint8_t *out, uint32_t *out_len) {
  const struct tf_image_header *h;
  uint32_t mode, count, in_bytes, out_bytes, s;
  uint8_t *p = out + 4;
  if (active_slot < 0) return LDR_E_NO_MODEL;
  if (n < 4u) return LDR_E_ARGS;
  h = header_of((uint32_t)active_slot);
  mode = a[0];
  count = a[1];
  if (mode > 1u || (mode == 1u && !h->run_int8)) return LDR_E_ARGS;
  in_bytes = mode ? h->int8_in_size : h->in_size * 4u;
  out_bytes = mode ? h->int8_out_size : h->out_size * 4u;
  if (count == 0 || n != 4u + count * in_bytes) return LDR_E_ARGS;
  if (4u + count * (4u + out_bytes) > LDR_MAX_DATA) return LDR_E_SIZE;
  /* fresh model RAM for every request: .data from flash, .bss zero */
  memcpy((void *)h->data_start, (const void *)h->data_load, h->data_end - h->data_start);
  memset((void *)h->bss_start, 0, h->bss_end - h->bss_start);
  for (s = 0; s < count; s++) {
    uint64_t t0, t1, d;
    memcpy(sample_in, a + 4 + s * in_bytes, in_bytes);
    if (s == 0) { /* warm-up */
      if (mode) h->run_int8((const int8_t *)sample_in, (int8_t *)sample_out);
      else h->run((const float *)sample_in, (float *)sample_out);
      /* and fresh model RAM again, so a stateful model (TFLite variable tensors) starts every request from
         its initial state and carries it from one sample to the next */
      memcpy((void *)h->data_start, (const void *)h->data_load, h->data_end - h->data_start);
      memset((void *)h->bss_start, 0, h->bss_end - h->bss_start);
    }
    t0 = port_ticks();
    if (mode) h->run_int8((const int8_t *)sample_in, (int8_t *)sample_out);
    else h->run((const float *)sample_in, (float *)sample_out);
    t1 = port_ticks();
    d = t1 - t0;
    d = d > tick_overhead ? d - tick_overhead : 0;
    p = wr32(p, (uint32_t)(d * LDR_INSTR_PER_TICK));
    memcpy(p, sample_out, out_bytes);
    p += out_bytes;
  }
  memset(out, 0, 4);
  out[0] = (uint8_t)count;
  *out_len = (uint32_t)(p - out);
  return LDR_OK;
}

static void handle_frame(uint32_t raw_len) {
  int32_t n = cobs_decode(rx_raw, raw_len, rx, FRAME_MAX);
  uint32_t len, req_crc, out_len = 0, addr, cnt;
  uint16_t seq;
  uint8_t type, status;
  const uint8_t *a;
  uint8_t *out = tx + 4; /* tx: type, seq(2), status, data */
  if (n < 0) { send_nak(LDR_NAK_COBS); return; }
  if (n < 7) { send_nak(LDR_NAK_SHORT); return; }
  len = (uint32_t)n - 4u;
  req_crc = rd32(rx + len);
  if (crc32(rx, len) != req_crc) { send_nak(LDR_NAK_CRC); return; }
  type = rx[0];
  seq = rd16(rx + 1);
  if (have_last && seq == last_seq && req_crc == last_req_crc && tx_enc_len) {
    uint32_t i; /* a retry: the response was lost, send it again */
    for (i = 0; i < tx_enc_len; i++) port_putc(tx_enc[i]);
    return;
  }
  a = rx + 3;
  len -= 3u;
  switch (type) {
    case LDR_HELLO:
      out_len = cmd_hello(out);
      status = LDR_OK;
      break;
    case LDR_ERASE:
      if (len != 8u) { status = LDR_E_ARGS; break; }
      addr = rd32(a); cnt = rd32(a + 4);
      if (!writable(addr, cnt)) { status = LDR_E_RANGE; break; }
      status = port_flash_erase(addr, cnt) ? LDR_E_FLASH : LDR_OK;
      break;
    case LDR_WRITE:
      if (len < 8u || (len - 4u) % 4u) { status = LDR_E_ARGS; break; }
      addr = rd32(a); cnt = len - 4u;
      if (addr % 4u || !writable(addr, cnt)) { status = LDR_E_RANGE; break; }
      if (port_flash_write(addr, a + 4, cnt) || memcmp((const void *)addr, a + 4, cnt)) status = LDR_E_FLASH;
      else status = LDR_OK;
      break;
    case LDR_READ:
      if (len != 6u) { status = LDR_E_ARGS; break; }
      addr = rd32(a); cnt = rd16(a + 4);
      if (cnt > LDR_MAX_DATA) { status = LDR_E_SIZE; break; }
      if (!range_in(addr, cnt, LDR_FLASH_BASE, LDR_FLASH_SIZE)) { status = LDR_E_RANGE; break; }
      memcpy(out, (const void *)addr, cnt);
      out_len = cnt;
      status = LDR_OK;
      break;
    case LDR_CRC:
      if (len != 8u) { status = LDR_E_ARGS; break; }
      addr = rd32(a); cnt = rd32(a + 4);
      if (!range_in(addr, cnt, LDR_FLASH_BASE, LDR_FLASH_SIZE)) { status = LDR_E_RANGE; break; }
      wr32(out, crc32((const uint8_t *)addr, cnt));
      out_len = 4;
      status = LDR_OK;
      break;
    case LDR_COMMIT:
      status = cmd_commit(a, len, out, &out_len);
      break;
    case LDR_RUN:
      status = cmd_run(a, len, out, &out_len);
      break;
    case LDR_RESET:
      tx[3] = LDR_OK;
      send_frame(LDR_RESET | 0x80u, seq, 1, 0);
      port_reset();
    default:
      status = LDR_E_UNKNOWN;
      break;
  }
  if (status != LDR_OK) out_len = 0;
  tx[3] = status;
  last_seq = seq;
  last_req_crc = req_crc;
  have_last = 1;
  send_frame((uint8_t)(type | 0x80u), seq, 1u + out_len, 1);
}

void ldr_fault(uint32_t pc);
/* Called by the board's fault handler: remember where, then start over (the loader stays usable). */
void ldr_fault(uint32_t pc) {
  ldr_fault_pc = pc;
  ldr_fault_magic = FAULT_MAGIC;
  port_reset();
}

int main(void) {
  uint32_t n = 0;
  int overflow = 0;
  port_init();
  crc_init();
  tick_overhead = measure_overhead();
  select_active();
  for (;;) {
    int c = port_getc();
    if (c < 0) continue;
    if (c == 0) {
      if (overflow) send_nak(LDR_NAK_OVERFLOW);
      else if (n) handle_frame(n);
      n = 0;
      overflow = 0;
    } else if (n < RAW_MAX) {
      rx_raw[n++] = (uint8_t)c;
    } else {
      overflow = 1;
    }
  }
}
