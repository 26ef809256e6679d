/** Progress bars for flashing (cli-progress on stderr, only when it is a terminal). */
import cliProgress from 'cli-progress';

export interface Progress {
  /** a callback for one port: (bytes done, bytes total) */
  forPort(port: string): (done: number, total: number) => void;
  stop(): void;
}

export function makeProgress(enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { forPort: () => () => {}, stop: () => {} };
  const multi = new cliProgress.MultiBar({
    stream: process.stderr,
    format: '{port} [{bar}] {percentage}% | {value}/{total} B | {rate} B/s | ETA {eta_formatted}',
    hideCursor: true, clearOnComplete: false, etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  return {
    forPort(port) {
      let bar: cliProgress.SingleBar | undefined;
      let t0 = 0;
      return (done, total) => {
        if (!bar) { bar = multi.create(total, 0, { port, rate: 0 }); t0 = performance.now(); }
        const s = (performance.now() - t0) / 1000;
        bar.setTotal(total);
        bar.update(done, { port, rate: s > 0 ? Math.round(done / s) : 0 });
      };
    },
    stop: () => multi.stop(),
  };
}
