/**
 * A minimal protocol-buffers writer (proto3 wire format): enough to serialize ONNX's ModelProto.
 * Messages are built bottom-up: a Message collects encoded fields; a nested message is written as a
 * length-delimited field holding its bytes. Wire types: 0 varint, 2 length-delimited, 5 fixed32.
 */

/** Bytes of a non-negative or negative integer as a varint (negative int64 take 10 bytes, two's complement). */
export function varint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

const key = (field: number, wireType: number) => varint(field * 8 + wireType);
const utf8 = new TextEncoder();

export class Message {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(...bs: Uint8Array[]): this {
    for (const b of bs) { this.parts.push(b); this.size += b.byteLength; }
    return this;
  }

  /** int32 / int64 / enum / bool (wire type 0) */
  int(field: number, value: number | bigint): this { return this.push(key(field, 0), varint(value)); }

  /** float (wire type 5) */
  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.push(key(field, 5), b);
  }

  bytes(field: number, data: Uint8Array): this { return this.push(key(field, 2), varint(data.byteLength), data); }

  string(field: number, text: string): this { return this.bytes(field, utf8.encode(text)); }

  message(field: number, m: Message): this { return this.bytes(field, m.finish()); }

  /** packed repeated int64 (wire type 2 holding varints) */
  packedInts(field: number, values: ArrayLike<number | bigint>): this {
    const m = new Message();
    for (let i = 0; i < values.length; i++) m.push(varint(values[i]));
    return this.bytes(field, m.finish());
  }

  /** packed repeated float */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(4 * values.length), dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(4 * i, values[i], true);
    return this.bytes(field, b);
  }

  get byteLength(): number { return this.size; }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) { out.set(p, at); at += p.byteLength; }
    return out;
  }
}
