/**
 * Bounds-checked accessors for the TensorFlow Lite flatbuffer schema (schema.fbs), written by hand over
 * the `flatbuffers` ByteBuffer. Every offset, vtable, vector length and string is validated against the
 * file before it is followed, so a corrupt or truncated file gives one TinyforgeError naming the file
 * and the broken field, never an out-of-range read, a giant allocation or a hang.
 *
 * Only the parts of the schema the importer reads are described here (field ids from schema.fbs):
 *   Model { version:uint 0; operator_codes:[OperatorCode] 1; subgraphs:[SubGraph] 2; description 3; buffers:[Buffer] 4 }
 *   OperatorCode { deprecated_builtin_code:byte 0; custom_code:string 1; version:int 2; builtin_code:int 3 }
 *   SubGraph { tensors 0; inputs:[int] 1; outputs:[int] 2; operators 3; name 4 }
 *   Tensor { shape:[int] 0; type:byte 1; buffer:uint 2; name 3; quantization 4; is_variable 5 }
 *   QuantizationParameters { min 0; max 1; scale:[float] 2; zero_point:[long] 3; ...; quantized_dimension:int 6 }
 *   Operator { opcode_index:uint 0; inputs:[int] 1; outputs:[int] 2; builtin_options_type 3; builtin_options 4; intermediates:[int] 8 }
 *   Buffer { data:[ubyte] 0; offset:ulong 1; size:ulong 2 }
 */
import { ByteBuffer } from 'flatbuffers';
import { TinyforgeError } from '../errors.js';

/** TFLite TensorType values. */
export const TENSOR_TYPES: Record<number, string> = {
  0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 5: 'string', 6: 'bool', 7: 'int16', 8: 'complex64',
  9: 'int8', 10: 'float64', 11: 'complex128', 12: 'uint64', 13: 'resource', 14: 'variant', 15: 'uint32', 16: 'uint16',
  17: 'int4', 18: 'bfloat16',
};

/** BuiltinOperator names for the codes this compiler knows, plus common others (for error messages). */
export const BUILTIN_NAMES: Record<number, string> = {
  0: 'ADD', 1: 'AVERAGE_POOL_2D', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D', 5: 'DEPTH_TO_SPACE', 6: 'DEQUANTIZE',
  7: 'EMBEDDING_LOOKUP', 8: 'FLOOR', 9: 'FULLY_CONNECTED', 10: 'HASHTABLE_LOOKUP', 11: 'L2_NORMALIZATION', 12: 'L2_POOL_2D',
  13: 'LOCAL_RESPONSE_NORMALIZATION', 14: 'LOGISTIC', 15: 'LSH_PROJECTION', 16: 'LSTM', 17: 'MAX_POOL_2D', 18: 'MUL', 19: 'RELU',
  20: 'RELU_N1_TO_1', 21: 'RELU6', 22: 'RESHAPE', 23: 'RESIZE_BILINEAR', 24: 'RNN', 25: 'SOFTMAX', 26: 'SPACE_TO_DEPTH',
  27: 'SVDF', 28: 'TANH', 29: 'CONCAT_EMBEDDINGS', 30: 'SKIP_GRAM', 31: 'CALL', 32: 'CUSTOM', 33: 'EMBEDDING_LOOKUP_SPARSE',
  34: 'PAD', 35: 'UNIDIRECTIONAL_SEQUENCE_RNN', 36: 'GATHER', 37: 'BATCH_TO_SPACE_ND', 38: 'SPACE_TO_BATCH_ND', 39: 'TRANSPOSE',
  40: 'MEAN', 41: 'SUB', 42: 'DIV', 43: 'SQUEEZE', 44: 'UNIDIRECTIONAL_SEQUENCE_LSTM', 45: 'STRIDED_SLICE',
  46: 'BIDIRECTIONAL_SEQUENCE_RNN', 47: 'EXP', 48: 'TOPK_V2', 49: 'SPLIT', 50: 'LOG_SOFTMAX', 51: 'DELEGATE',
  52: 'BIDIRECTIONAL_SEQUENCE_LSTM', 53: 'CAST', 54: 'PRELU', 55: 'MAXIMUM', 56: 'ARG_MAX', 57: 'MINIMUM', 58: 'LESS', 59: 'NEG',
  60: 'PADV2', 61: 'GREATER', 62: 'GREATER_EQUAL', 63: 'LESS_EQUAL', 64: 'SELECT', 65: 'SLICE', 66: 'SIN', 67: 'TRANSPOSE_CONV',
  68: 'SPARSE_TO_DENSE', 69: 'TILE', 70: 'EXPAND_DIMS', 71: 'EQUAL', 72: 'NOT_EQUAL', 73: 'LOG', 74: 'SUM', 75: 'SQRT',
  76: 'RSQRT', 77: 'SHAPE', 78: 'POW', 79: 'ARG_MIN', 80: 'FAKE_QUANT', 81: 'REDUCE_PROD', 82: 'REDUCE_MAX', 83: 'PACK',
  84: 'LOGICAL_OR', 85: 'ONE_HOT', 86: 'LOGICAL_AND', 87: 'LOGICAL_NOT', 88: 'UNPACK', 89: 'REDUCE_MIN', 90: 'FLOOR_DIV',
  91: 'REDUCE_ANY', 92: 'SQUARE', 93: 'ZEROS_LIKE', 94: 'FILL', 95: 'FLOOR_MOD', 96: 'RANGE', 97: 'RESIZE_NEAREST_NEIGHBOR',
  98: 'LEAKY_RELU', 99: 'SQUARED_DIFFERENCE', 100: 'MIRROR_PAD', 101: 'ABS', 102: 'SPLIT_V', 103: 'UNIQUE', 104: 'CEIL',
  105: 'REVERSE_V2', 106: 'ADD_N', 107: 'GATHER_ND', 108: 'COS', 109: 'WHERE', 110: 'RANK', 111: 'ELU',
  112: 'REVERSE_SEQUENCE', 113: 'MATRIX_DIAG', 114: 'QUANTIZE', 115: 'MATRIX_SET_DIAG', 116: 'ROUND', 117: 'HARD_SWISH',
  118: 'IF', 119: 'WHILE', 120: 'NON_MAX_SUPPRESSION_V4', 121: 'NON_MAX_SUPPRESSION_V5', 122: 'SCATTER_ND', 123: 'SELECT_V2',
  124: 'DENSIFY', 125: 'SEGMENT_SUM', 126: 'BATCH_MATMUL', 127: 'PLACEHOLDER_FOR_GREATER_OP_CODES', 128: 'CUMSUM',
};

export const builtinName = (code: number) => BUILTIN_NAMES[code] ?? `BUILTIN_${code}`;

/** A validated view of a flatbuffer: every read checks the range first. */
export class FbReader {
  readonly bb: ByteBuffer;
  readonly size: number;
  constructor(readonly bytes: Uint8Array, readonly file: string) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
  }
  fail(what: string): never {
    throw new TinyforgeError(`${this.file}: not a valid TensorFlow Lite file: ${what}; re-export the model (the file is truncated or corrupt)`);
  }
  check(pos: number, bytes: number, what: string): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || bytes < 0 || pos + bytes > this.size) this.fail(`${what} at byte ${pos} (+${bytes}) lies outside the ${this.size}-byte file`);
  }
  u8(pos: number, what: string): number { this.check(pos, 1, what); return this.bb.readUint8(pos); }
  i8(pos: number, what: string): number { this.check(pos, 1, what); return this.bb.readInt8(pos); }
  u16(pos: number, what: string): number { this.check(pos, 2, what); return this.bb.readUint16(pos); }
  i32(pos: number, what: string): number { this.check(pos, 4, what); return this.bb.readInt32(pos); }
  u32(pos: number, what: string): number { this.check(pos, 4, what); return this.bb.readUint32(pos); }
  f32(pos: number, what: string): number { this.check(pos, 4, what); return this.bb.readFloat32(pos); }
  i64(pos: number, what: string): bigint { this.check(pos, 8, what); return this.bb.readInt64(pos); }
  u64(pos: number, what: string): bigint { this.check(pos, 8, what); return this.bb.readUint64(pos); }

  /** The root table (the uoffset at byte 0). */
  root(): Table {
    if (this.size < 8) this.fail(`only ${this.size} bytes`);
    return this.table(this.u32(0, 'root offset'), 'Model');
  }
  table(pos: number, what: string): Table {
    this.check(pos, 4, `${what} table`);
    if (pos % 4 !== 0) this.fail(`${what} table at byte ${pos} is misaligned`);
    const vt = pos - this.bb.readInt32(pos);
    this.check(vt, 4, `${what} vtable`);
    const vtSize = this.bb.readUint16(vt), tableSize = this.bb.readUint16(vt + 2);
    if (vtSize < 4 || vtSize % 2 !== 0) this.fail(`${what} vtable at byte ${vt} has size ${vtSize}`);
    this.check(vt, vtSize, `${what} vtable`);
    this.check(pos, Math.max(4, tableSize), `${what} table body`);
    return new Table(this, pos, vt, vtSize, tableSize, what);
  }
}

export class Table {
  constructor(readonly r: FbReader, readonly pos: number, private vt: number, private vtSize: number, private tableSize: number, readonly what: string) {}

  /** absolute position of field `id`, or 0 when absent; checks `bytes` of it lie inside the table */
  field(id: number, bytes: number, name: string): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtSize) return 0;
    const off = this.r.bb.readUint16(this.vt + slot);
    if (off === 0) return 0;
    if (off + bytes > this.tableSize) this.r.fail(`${this.what}.${name} (offset ${off}) lies outside its ${this.tableSize}-byte table`);
    return this.pos + off;
  }
  u8(id: number, name: string, dflt = 0): number { const p = this.field(id, 1, name); return p ? this.r.u8(p, `${this.what}.${name}`) : dflt; }
  i8(id: number, name: string, dflt = 0): number { const p = this.field(id, 1, name); return p ? this.r.i8(p, `${this.what}.${name}`) : dflt; }
  bool(id: number, name: string, dflt = false): boolean { const p = this.field(id, 1, name); return p ? this.r.u8(p, `${this.what}.${name}`) !== 0 : dflt; }
  i32(id: number, name: string, dflt = 0): number { const p = this.field(id, 4, name); return p ? this.r.i32(p, `${this.what}.${name}`) : dflt; }
  u32(id: number, name: string, dflt = 0): number { const p = this.field(id, 4, name); return p ? this.r.u32(p, `${this.what}.${name}`) : dflt; }
  f32(id: number, name: string, dflt = 0): number { const p = this.field(id, 4, name); return p ? this.r.f32(p, `${this.what}.${name}`) : dflt; }
  u64(id: number, name: string): bigint { const p = this.field(id, 8, name); return p ? this.r.u64(p, `${this.what}.${name}`) : 0n; }

  /** follows a uoffset field; null when absent */
  private ref(id: number, name: string): number | null {
    const p = this.field(id, 4, name);
    if (!p) return null;
    const target = p + this.r.u32(p, `${this.what}.${name}`);
    this.r.check(target, 4, `${this.what}.${name}`);
    return target;
  }
  table(id: number, name: string): Table | null {
    const t = this.ref(id, name);
    return t === null ? null : this.r.table(t, `${this.what}.${name}`);
  }
  /** a vector field: its element count and the position of element 0, checked against the file */
  vector(id: number, name: string, elemBytes: number): { length: number; start: number } | null {
    const v = this.ref(id, name);
    if (v === null) return null;
    const length = this.r.bb.readUint32(v);
    const start = v + 4;
    if (length * elemBytes > this.r.size - start) this.r.fail(`${this.what}.${name} claims ${length} elements, more than the file holds`);
    return { length, start };
  }
  string(id: number, name: string): string | null {
    const v = this.vector(id, name, 1);
    if (!v) return null;
    return new TextDecoder('utf-8', { fatal: false }).decode(this.r.bytes.subarray(v.start, v.start + v.length));
  }
  tables(id: number, name: string): Table[] {
    const v = this.vector(id, name, 4);
    if (!v) return [];
    const out: Table[] = [];
    for (let i = 0; i < v.length; i++) {
      const p = v.start + 4 * i;
      const t = p + this.r.bb.readUint32(p);
      out.push(this.r.table(t, `${this.what}.${name}[${i}]`));
    }
    return out;
  }
  i32s(id: number, name: string): number[] | null {
    const v = this.vector(id, name, 4);
    if (!v) return null;
    const out: number[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.r.bb.readInt32(v.start + 4 * i);
    return out;
  }
  f32s(id: number, name: string): number[] | null {
    const v = this.vector(id, name, 4);
    if (!v) return null;
    const out: number[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.r.bb.readFloat32(v.start + 4 * i);
    return out;
  }
  i64s(id: number, name: string): bigint[] | null {
    const v = this.vector(id, name, 8);
    if (!v) return null;
    const out: bigint[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.r.bb.readInt64(v.start + 8 * i);
    return out;
  }
  bytes(id: number, name: string): Uint8Array | null {
    const v = this.vector(id, name, 1);
    return v ? this.r.bytes.subarray(v.start, v.start + v.length) : null;
  }
}
