import type { Argv } from 'yargs';
import { TinyforgeError } from '../errors.js';
import { makeProgress } from './progress.js';

const PROTOCOLS = ['loader', 'stm32-rom'] as const;

/**
 * `tinyforge flash <compiled-dir> [--port PATH ...] [--board NAME] [--verify] [--json]` (resident loader), or
 * `tinyforge flash <firmware.bin|loader> --protocol stm32-rom --port PATH [--board NAME] [--address A] [--go]`
 * (ST's AN3155 ROM bootloader, BOOT0 high).
 */
export function register(y: Argv): Argv {
  return y
    .command('flash <image>', 'write a compiled model to a board (resident loader), or a firmware image over the STM32 ROM bootloader', (y) => y
      .positional('image', { type: 'string', demandOption: true, describe: 'compiled folder (loader protocol); firmware .bin or "loader" (stm32-rom)' })
      .option('port', { type: 'string', array: true, describe: 'serial port(s); default: the emulated board from "tinyforge board start"' })
      .option('board', { type: 'string', describe: 'expected board (refuses another kind)' })
      .option('verify', { type: 'boolean', describe: 'read back the CRC and run the check vectors on the board, bit for bit' })
      .option('protocol', { choices: PROTOCOLS, default: 'loader' as (typeof PROTOCOLS)[number] })
      .option('baud', { type: 'number', default: 115200 })
      .option('address', { type: 'string', describe: 'stm32-rom: flash address of the image (default 0x08000000)' })
      .option('go', { type: 'boolean', describe: 'stm32-rom: jump to the image after writing' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const ports = a.port as string[] | undefined;
      if (a.protocol === 'stm32-rom') {
        const { flashStm32Rom } = await import('../device/stm32-rom.js');
        if (!ports?.length) throw new TinyforgeError('--protocol stm32-rom needs --port (the STM32 USART, BOOT0 high)');
        const progress = makeProgress(!a.json);
        try {
          const results = await Promise.all(ports.map((p) => flashStm32Rom(p, a.image, {
            board: a.board, baudRate: a.baud, address: a.address !== undefined ? Number(a.address) : undefined, go: a.go, onProgress: progress.forPort(p),
          })));
          progress.stop();
          if (a.json) console.log(JSON.stringify({ ok: true, results }));
          else for (const r of results) console.log(`${r.port}: wrote ${r.bytes} bytes at 0x${r.address.toString(16)} to ${r.chip} (bootloader v${r.bootloaderVersion}), read back identical${r.go ? ', started' : ''} (${(r.ms / 1000).toFixed(1)} s)`);
        } finally {
          progress.stop();
        }
        return;
      }
      const { flashModel, resolvePorts } = await import('../device/flash.js');
      const list = resolvePorts(ports, a.board);
      const progress = makeProgress(!a.json);
      const settled = await Promise.allSettled(list.map((p) => flashModel(p, a.image, {
        board: a.board, verify: a.verify, baudRate: a.baud, onProgress: progress.forPort(p), log: a.json ? undefined : (s) => console.error(s),
      })));
      progress.stop();
      const results = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const errors = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ port: list[i], error: (s.reason as Error).message }] : []));
      const failedVerify = results.filter((r) => r.verify && !r.verify.ok);
      if (a.json) console.log(JSON.stringify({ ok: errors.length === 0 && failedVerify.length === 0, results, errors }));
      else for (const r of results) {
        console.log(`${r.port}: ${r.model} -> ${r.board} slot ${r.slot} (0x${r.slotAddr.toString(16)}), ${r.imageBytes} bytes, crc ${r.crc}, commit #${r.commitSeq}; ${(r.flashMs / 1000).toFixed(2)} s, ${Math.round(r.bytesPerSec)} B/s, efficiency ${r.efficiency.toFixed(3)}${r.restarts ? `, ${r.restarts} restart(s)` : ''}`);
        if (r.verify) {
          const v = r.verify;
          console.log(`  verify: crc ${v.crcOk ? 'ok' : 'MISMATCH'}; ${v.samples} vectors: float ${v.floatBitExact}/${v.floatCompared} bit-exact${v.int8Compared !== undefined ? `, int8 ${v.int8BitExact}/${v.int8Compared} bit-exact` : ''}; instructions/inference ${v.instructions[0]}${v.instructionsInt8 ? ` (int8 API ${v.instructionsInt8[0]})` : ''} -> ${v.ok ? 'OK' : 'FAILED'}`);
        }
      }
      if (errors.length === 1 && list.length === 1) throw new TinyforgeError(errors[0].error.replace(/^/, ''));
      if (errors.length) throw new TinyforgeError(`${errors.length} of ${list.length} boards failed: ${errors.map((e) => e.error).join('; ')}`);
      if (failedVerify.length) throw new TinyforgeError(`verify failed on ${failedVerify.map((r) => r.port).join(', ')}: the board's outputs differ from the check vectors`, 1);
    });
}
