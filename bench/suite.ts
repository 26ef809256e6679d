/**
 * The whole benchmark (`npm run bench`, `tinyforge bench`): dense models (WASM latency, Cortex-M4F
 * instructions, sizes), TinyTimeMixer vs onnxruntime-web, MPC control rates and tracking, flash
 * throughput. Sections can be picked with `--only dense,ttm,mpc,flash`.
 */
import { formatBench, runBench } from './bench.js';
import { formatTtmBench, runTtmBench } from './ttm.js';
import { formatMpcBench, runMpcBench } from './mpc.js';
import { formatFlashBench, runFlashBench } from './flash.js';

export const SECTIONS = ['dense', 'ttm', 'mpc', 'flash'] as const;
export type Section = (typeof SECTIONS)[number];

export interface SuiteResult { date: string; node: string; sections: Partial<Record<Section, unknown[]>>; markdown: string }

export async function runSuite(only: readonly Section[] = SECTIONS, log: (s: string) => void = console.error): Promise<SuiteResult> {
  const sections: SuiteResult['sections'] = {};
  const md: string[] = [];
  if (only.includes('dense')) { const r = await runBench(log); sections.dense = r; md.push('### Dense models\n\n' + formatBench(r)); }
  if (only.includes('ttm')) { const r = await runTtmBench(log); sections.ttm = r; md.push('### TinyTimeMixer in WASM vs onnxruntime-web\n\n' + formatTtmBench(r)); }
  if (only.includes('mpc')) { const r = await runMpcBench(log); sections.mpc = r; md.push('### MPC\n\n' + formatMpcBench(r)); }
  if (only.includes('flash')) { const r = await runFlashBench(log); sections.flash = r; md.push('### Flashing the emulated board\n\n' + formatFlashBench(r)); }
  return { date: new Date().toISOString(), node: process.version, sections, markdown: md.join('\n\n') };
}
