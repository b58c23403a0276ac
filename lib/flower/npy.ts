/**
 * NumPy `.npy` files (format 1.0/2.0/3.0) in memory: what a Flower `Array` carries as its data.
 * Writing reproduces `np.save(..., allow_pickle=False)` of numpy ≥ 1.24 byte for byte (header
 * padded to 64 bytes, with numpy's growth padding), so object ids match Python's for equal arrays.
 */

/** Element types fedtune reads; weights are always written as float32. */
export type NpyDtype = "<f4" | "<f8" | "<i4" | "<i8" | "|u1" | "|b1";

/** A decoded `.npy`: shape in C order and the values widened to float64 where needed. */
export interface NpyArray {
  /** NumPy `descr` of the file, e.g. "<f4". */
  readonly descr: NpyDtype;
  /** Shape, row-major (Fortran-ordered files are transposed on reading). */
  readonly shape: readonly number[];
  /** The values in C order: Float32Array for "<f4", Float64Array otherwise (int64 rounded). */
  readonly values: Float32Array | Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;
const ITEM_SIZE: Record<NpyDtype, number> = { "<f4": 4, "<f8": 8, "<i4": 4, "<i8": 8, "|u1": 1, "|b1": 1 };

/** Python's `repr` of a shape tuple: "()", "(3,)", "(2, 3)". */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

/** Encode float32 values of `shape` (C order) as the bytes of a `.npy` file. */
export function encodeNpyFloat32(values: Float32Array, shape: readonly number[]): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`encodeNpyFloat32: shape must be non-negative integers, got [${shape}]`);
  if (size !== values.length) throw new Error(`encodeNpyFloat32: shape [${shape}] needs ${size} values, got ${values.length}`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) header += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  // Version 1.0: 2-byte header length; the header ends with "\n" and pads the preamble to 64 bytes.
  const hlen = header.length + 1;
  const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + hlen) % ARRAY_ALIGN);
  const total = hlen + padlen;
  if (total > 0xffff) throw new Error(`encodeNpyFloat32: header of ${total} bytes is too long for .npy 1.0`);
  const headerBytes = Buffer.from(header + " ".repeat(padlen) + "\n", "latin1");
  const out = new Uint8Array(10 + headerBytes.length + values.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = total & 0xff;
  out[9] = total >> 8;
  out.set(headerBytes, 10);
  const data = new DataView(out.buffer, 10 + headerBytes.length, values.length * 4);
  for (let i = 0; i < values.length; i++) data.setFloat32(i * 4, values[i], true);
  return out;
}

/** Decode the bytes of a `.npy` file; errors say what is wrong with the header or the size. */
export function decodeNpy(bytes: Uint8Array, context = "decodeNpy"): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new Error(`${context}: not a .npy file (bad magic)`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error(`${context}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new Error(`${context}: unsupported .npy version ${major}.${bytes[7]}`);
  }
  if (headerStart + headerLen > bytes.length) throw new Error(`${context}: truncated .npy header (${headerLen} bytes announced)`);
  const header = Buffer.from(bytes.subarray(headerStart, headerStart + headerLen)).toString(major === 3 ? "utf8" : "latin1");
  const descrMatch = /'descr':\s*'([^']*)'/.exec(header);
  const fortranMatch = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descrMatch || !fortranMatch || !shapeMatch) throw new Error(`${context}: malformed .npy header ${JSON.stringify(header.trim())}`);
  const descr = descrMatch[1].replace(/^=/, "<") as NpyDtype;
  if (!(descr in ITEM_SIZE)) throw new Error(`${context}: unsupported dtype ${descrMatch[1]} (supported: ${Object.keys(ITEM_SIZE).join(", ")})`);
  const shape = shapeMatch[1]
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s));
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${context}: bad shape (${shapeMatch[1]})`);
  const size = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  const itemSize = ITEM_SIZE[descr];
  if (bytes.length - dataStart !== size * itemSize) {
    throw new Error(`${context}: shape (${shape}) of ${descr} needs ${size * itemSize} data bytes, got ${bytes.length - dataStart}`);
  }
  const data = new DataView(bytes.buffer, bytes.byteOffset + dataStart, size * itemSize);
  const values = descr === "<f4" ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const o = i * itemSize;
    switch (descr) {
      case "<f4": values[i] = data.getFloat32(o, true); break;
      case "<f8": values[i] = data.getFloat64(o, true); break;
      case "<i4": values[i] = data.getInt32(o, true); break;
      case "<i8": values[i] = Number(data.getBigInt64(o, true)); break;
      default: values[i] = data.getUint8(o); break;
    }
  }
  const fortran = fortranMatch[1] === "True";
  return { descr, shape, values: fortran && shape.length > 1 ? fortranToC(values, shape) : values };
}

/** Reorder column-major values into row-major order. */
function fortranToC<T extends Float32Array | Float64Array>(values: T, shape: readonly number[]): T {
  const out = values.slice() as T;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  const fStride: number[] = [];
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fStride.push(s);
    s *= shape[d];
  }
  for (let c = 0; c < values.length; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += index[d] * fStride[d];
    out[c] = values[f];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}
