/**
 * safetensors reader/writer: 8-byte little-endian header length N, N bytes of JSON
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}), then the data.
 * Every offset and size is validated; errors name the file and the tensor.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fail } from '../errors.js';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'I8' | 'U8' | 'I16' | 'I32' | 'I64' | 'F64' | 'BOOL';
const DTYPE_BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, I8: 1, U8: 1, I16: 2, I32: 4, I64: 8, F64: 8, BOOL: 1 };

export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  /** the tensor's bytes (a copy, aligned) */
  bytes: Uint8Array;
}

export interface SafeTensorsFile {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100 * 1024 * 1024;

export function parseSafetensors(buf: Uint8Array, file: string): SafeTensorsFile {
  if (buf.byteLength < 8) fail(`${file}: truncated safetensors file (${buf.byteLength} bytes, the 8-byte header length is missing); re-export the file`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > buf.byteLength) {
    fail(`${file}: corrupt safetensors header length ${headerLen} (file has ${buf.byteLength} bytes); the file is truncated or not safetensors`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch {
    fail(`${file}: corrupt safetensors header (not valid JSON); the file is damaged or not safetensors`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(`${file}: corrupt safetensors header (not a JSON object)`);
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v === 'object' && v !== null) metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`${file}: tensor '${name}' has a malformed header entry`);
    const dtype = t.dtype as SafeDType;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`${file}: tensor '${name}' has unsupported dtype ${JSON.stringify(t.dtype)} (supported: F32, F16, BF16, I8, I32, ...)`);
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`${file}: tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0)) fail(`${file}: tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    const [begin, end] = off as [number, number];
    if (begin > end || end > dataLen) {
      fail(`${file}: tensor '${name}' data_offsets [${begin}, ${end}] are out of range (data section has ${dataLen} bytes); the file is truncated or corrupt`);
    }
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) fail(`${file}: tensor '${name}' holds ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`);
    ranges.push([begin, end, name]);
    tensors.set(name, { dtype, shape: shape as number[], bytes: buf.slice(dataStart + begin, dataStart + end) });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) fail(`${file}: tensors '${ranges[i - 1][2]}' and '${ranges[i][2]}' overlap; the file is corrupt`);
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): SafeTensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    fail(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  return parseSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Any numeric tensor as float32 (F16/BF16 widened exactly). */
export function toFloat32(t: RawTensor, name: string, file: string): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true); break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true)); break;
    case 'BF16': {
      const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
      for (let i = 0; i < n; i++) { bits[0] = dv.getUint16(i * 2, true) << 16; out[i] = asFloat[0]; }
      break;
    }
    case 'I8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(i); break;
    case 'U8': for (let i = 0; i < n; i++) out[i] = dv.getUint8(i); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
    default: fail(`${file}: tensor '${name}' has dtype ${t.dtype}, which cannot be read as float`);
  }
  return out;
}

export function toInt8(t: RawTensor, name: string, file: string): Int8Array {
  if (t.dtype !== 'I8') fail(`${file}: tensor '${name}' is ${t.dtype}, expected I8`);
  return new Int8Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength).slice();
}

export function toInt32(t: RawTensor, name: string, file: string): Int32Array {
  if (t.dtype !== 'I32') fail(`${file}: tensor '${name}' is ${t.dtype}, expected I32`);
  return new Int32Array(t.bytes.slice().buffer);
}

export interface TensorToWrite {
  dtype: 'F32' | 'I8' | 'I32';
  shape: number[];
  data: Float32Array | Int8Array | Int32Array;
}

export function serializeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' '; // keep the data section 8-byte aligned
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.byteLength), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.byteLength;
  for (const b of parts) { out.set(b, p); p += b.byteLength; }
  return out;
}

export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  writeFileSync(path, serializeSafetensors(tensors, metadata));
}
