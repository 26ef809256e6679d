import type { Argv } from 'yargs';
import { TinyforgeError } from '../errors.js';

/** `tinyforge verify [--port PATH] --vectors io.safetensors [--compiled DIR] [--json]` */
export function register(y: Argv): Argv {
  return y
    .command('verify', 'run check vectors on the model that is on the board, comparing bit for bit', (y) => y
      .option('vectors', { type: 'string', demandOption: true, describe: 'safetensors with input [N, ...], output (and output_q + input_q for the int8 API), e.g. a compiled folder\'s check.safetensors' })
      .option('port', { type: 'string', array: true, describe: 'serial port(s); default: the emulated board from "tinyforge board start"' })
      .option('board', { type: 'string', describe: 'expected board (refuses another kind)' })
      .option('compiled', { type: 'string', describe: 'compiled folder: quantizes the inputs for the int8 API check' })
      .option('baud', { type: 'number', default: 115200 })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const { resolvePorts, verifyPort } = await import('../device/flash.js');
      const list = resolvePorts(a.port as string[] | undefined, a.board);
      const results = await Promise.all(list.map((p) => verifyPort(p, a.vectors, { board: a.board, compiled: a.compiled, baudRate: a.baud })));
      if (a.json) console.log(JSON.stringify({ ok: results.every((r) => r.ok), results }));
      else for (const v of results) console.log(`${v.port}: ${v.model} on ${v.board}: crc ${v.crcOk ? 'ok' : 'MISMATCH'}; ${v.samples} vectors: float ${v.floatBitExact}/${v.floatCompared} bit-exact (max |diff| ${v.floatMaxAbsDiff})${v.int8Compared !== undefined ? `, int8 ${v.int8BitExact}/${v.int8Compared} bit-exact` : ''}; instructions/inference ${v.instructions[0]}${v.instructionsInt8 ? ` (int8 API ${v.instructionsInt8[0]})` : ''} -> ${v.ok ? 'OK' : 'FAILED'}`);
      const bad = results.filter((r) => !r.ok);
      if (bad.length) throw new TinyforgeError(`verify failed on ${bad.map((r) => r.port).join(', ')}: the board's outputs differ from ${a.vectors}`, 1);
    });
}
