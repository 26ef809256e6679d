import type { Argv } from 'yargs';
import { DEFAULT_BOARD } from '../device/boards.js';

/** `tinyforge board start|stop|status [--board mps2-an386]`: the emulated board (QEMU + the resident loader). */
export function register(y: Argv): Argv {
  return y
    .command('board <action>', 'start/stop the emulated board (QEMU running the resident loader; its UART is a pty)', (y) => y
      .positional('action', { choices: ['start', 'stop', 'status'] as const, demandOption: true })
      .option('board', { type: 'string', default: DEFAULT_BOARD, describe: 'board profile (targets/boards/<board>)' })
      .option('json', { type: 'boolean' }),
    async (a) => {
      const { ensureBoardRunning, runningBoard, stopRunningBoard } = await import('../device/emulator.js');
      if (a.action === 'start') {
        const { board: r, started } = await ensureBoardRunning(a.board);
        if (a.json) console.log(JSON.stringify({ board: r.board, port: r.pty, pid: r.pid, started }));
        else {
          console.error(`${r.board} ${started ? 'started' : 'already running'} (pid ${r.pid}); serial port:`);
          console.log(r.pty);
          console.error(`flash with 'tinyforge flash <compiled-dir>' (or --port ${r.pty}); stop with 'tinyforge board stop'`);
        }
      } else if (a.action === 'stop') {
        const stopped = await stopRunningBoard(a.board);
        if (a.json) console.log(JSON.stringify({ board: a.board, stopped }));
        else console.error(stopped ? `${a.board} stopped` : `no ${a.board} board was running`);
      } else {
        const r = runningBoard(a.board);
        if (a.json) console.log(JSON.stringify(r ? { board: r.board, running: true, port: r.pty, pid: r.pid, startedAt: r.startedAt } : { board: a.board, running: false }));
        else console.log(r ? `${r.board} running (pid ${r.pid}) on ${r.pty} since ${r.startedAt}` : `${a.board} not running`);
      }
    });
}
