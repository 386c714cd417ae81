#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, CPU) on .npy
// inputs and writes its outputs as .npy: the reference for dlcc.
//
//   node scripts/onnx/ort_run.js MODEL.onnx --input NAME=X.npy... \
//        --output NAME=Y.npy...
//   node scripts/onnx/ort_run.js MODEL.onnx X.npy Y.npy
//        (the short form: the model's first input and first output)
//
// The .npy reader and writer below handle little-endian float32 ('<f4'),
// int64 ('<i8') and int32 ('<i4') arrays in C order, versions 1.0-3.0:
// what the comparison needs, no more. Graph optimizations are left at
// ORT's default ('all'), as a user of ORT would run the model.
//
// Timing (bench/run.sh), printed like dlcc-run --bench:
//   --threads T     intraOpNumThreads T, interOpNumThreads 1, sequential
//                   execution (default: ORT's own thread choice)
//   --bench N       one warm-up run, then at least N timed runs (and at
//                   least --min-time seconds of them); prints
//                   "bench: N runs, median X ms, min Y ms"
//   --min-time S    see --bench (default 0)
// Outputs named with --output are written from the last run.
'use strict';
const fs = require('fs');
const path = require('path');

const DTYPES = {
  '<f4': { ort: 'float32', Array: Float32Array },
  '<i8': { ort: 'int64', Array: BigInt64Array },
  '<i4': { ort: 'int32', Array: Int32Array },
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(`${file}: not a .npy file`);
  }
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); off = 12; }
  else throw new Error(`${file}: .npy version ${major} is not supported`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: bad .npy header ${header}`);
  const dt = DTYPES[descr[1]];
  if (!dt) throw new Error(`${file}: dtype ${descr[1]} is not supported (float32, int64, int32)`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  const bytes = count * dt.Array.BYTES_PER_ELEMENT;
  if (buf.length - start !== bytes) {
    throw new Error(`${file}: ${buf.length - start} data bytes, shape (${dims}) needs ${bytes}`);
  }
  // Copy into an aligned buffer: the file's data need not be aligned.
  const data = new dt.Array(count);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + bytes));
  return { type: dt.ort, dims, data };
}

function writeNpy(file, tensor) {
  const descr = Object.keys(DTYPES).find((k) => DTYPES[k].ort === tensor.type);
  if (!descr) throw new Error(`${file}: output type ${tensor.type} is not supported`);
  const dims = tensor.dims.map(Number);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so that the data starts on a 64-byte boundary; the
  // header ends with a newline.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const d = tensor.data;
  fs.writeFileSync(file, Buffer.concat([
    pre, Buffer.from(header, 'latin1'),
    Buffer.from(d.buffer, d.byteOffset, d.byteLength)]));
}

function usage(msg) {
  if (msg) console.error(`ort_run: ${msg}`);
  console.error('usage: ort_run.js MODEL.onnx [--input NAME=X.npy]... [--output NAME=Y.npy]...\n' +
                '           [--threads T] [--bench N] [--min-time S]\n' +
                '       ort_run.js MODEL.onnx X.npy Y.npy');
  process.exit(2);
}

async function main(argv) {
  if (argv.length < 1) usage();
  const model = argv[0];
  const inputs = [], outputs = [], plain = [];
  const num = { '--threads': 0, '--bench': 0, '--min-time': 0 };
  for (let i = 1; i < argv.length; i++) {
    let a = argv[i], list = null;
    const opt = Object.keys(num).find((o) => a === o || a.startsWith(o + '='));
    if (opt) {
      let v;
      if (a === opt) { if (i + 1 >= argv.length) usage(`${opt} needs a number`); v = argv[++i]; }
      else v = a.slice(opt.length + 1);
      const x = Number(v);
      if (!(x >= 0) || (opt !== '--min-time' && !Number.isInteger(x))) usage(`bad ${opt} ${v}`);
      num[opt] = x;
      continue;
    }
    for (const [opt, l] of [['--input', inputs], ['--output', outputs]]) {
      if (a === opt) { if (i + 1 >= argv.length) usage(`${opt} needs NAME=FILE`); a = argv[++i]; list = l; }
      else if (a.startsWith(opt + '=')) { a = a.slice(opt.length + 1); list = l; }
    }
    if (list) {
      const eq = a.indexOf('=');
      if (eq <= 0) usage(`bad NAME=FILE: ${a}`);
      list.push([a.slice(0, eq), a.slice(eq + 1)]);
    } else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else plain.push(a);
  }
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.error('ort_run: cannot load onnxruntime-node (run scripts/onnx/install_deps.sh): ' + e.message);
    process.exit(1);
  }
  const options = { executionProviders: ['cpu'] };
  if (num['--threads'] > 0) {
    options.intraOpNumThreads = num['--threads'];
    options.interOpNumThreads = 1;
    options.executionMode = 'sequential';
  }
  const session = await ort.InferenceSession.create(path.resolve(model), options);
  if (plain.length) {
    if (plain.length !== 2 || inputs.length || outputs.length) usage('short form: MODEL X.npy Y.npy');
    inputs.push([session.inputNames[0], plain[0]]);
    outputs.push([session.outputNames[0], plain[1]]);
  }
  const feeds = {};
  for (const [name, file] of inputs) {
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  for (const name of session.inputNames) {
    if (!(name in feeds)) usage(`model input ${name} has no --input`);
  }
  let result = await session.run(feeds);
  if (num['--bench'] > 0) {
    const times = [];
    let total = 0;
    while (times.length < num['--bench'] || total < num['--min-time'] * 1e3) {
      const t0 = process.hrtime.bigint();
      result = await session.run(feeds);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      times.push(ms);
      total += ms;
    }
    times.sort((a, b) => a - b);
    const median = times.length % 2 ? times[(times.length - 1) / 2]
      : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
    console.log(`bench: ${times.length} runs, median ${median.toFixed(4)} ms, ` +
                `min ${times[0].toFixed(4)} ms`);
  }
  for (const [name, file] of outputs) {
    if (!(name in result)) {
      usage(`model has no output ${name} (outputs: ${session.outputNames.join(', ')})`);
    }
    writeNpy(file, result[name]);
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error('ort_run: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
