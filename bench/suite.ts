/**
 * The whole benchmark (`npm run bench`, `tinyforge bench`): dense models (WASM latency, Cortex-M4F
 * instructions, sizes), TinyTimeMixer vs onnxruntime-web, MPC control rates and tracking, flash
 * throughput, TFLite models vs TFLM (QEMU) and tfjs-tflite (WASM). Pick sections with `--only`.
 */
import { formatBench, runBench } from './bench.js';
import { formatTtmBench, runTtmBench } from './ttm.js';
import { formatMpcBench, runMpcBench } from './mpc.js';
import { formatFlashBench, runFlashBench } from './flash.js';
import { formatTflmBench, runTflmBench } from './tflm.js';
import { formatTfliteWasmBench, runTfliteWasmBench } from './tflite-wasm.js';
import { formatMatformerBench, runMatformerBench } from './matformer.js';

/** The default sections; `matformer` (a 14 M-parameter TinyBERT, about two minutes) runs only when asked for. */
export const SECTIONS = ['dense', 'ttm', 'tflm', 'tflite-wasm', 'mpc', 'flash'] as const;
export type Section = (typeof SECTIONS)[number] | 'matformer';

export interface SuiteResult { date: string; node: string; sections: Partial<Record<Section, unknown[]>>; markdown: string }

export async function runSuite(only: readonly Section[] = SECTIONS, log: (s: string) => void = console.error): Promise<SuiteResult> {
  const sections: SuiteResult['sections'] = {};
  const md: string[] = [];
  if (only.includes('dense')) { const r = await runBench(log); sections.dense = r; md.push('### Dense models\n\n' + formatBench(r)); }
  if (only.includes('ttm')) { const r = await runTtmBench(log); sections.ttm = r; md.push('### TinyTimeMixer in WASM vs onnxruntime-web\n\n' + formatTtmBench(r)); }
  if (only.includes('tflm')) { const r = await runTflmBench(log); sections.tflm = r; md.push('### TFLite models on the emulated Cortex-M4F vs TensorFlow Lite Micro + CMSIS-NN\n\n' + formatTflmBench(r)); }
  if (only.includes('tflite-wasm')) { const r = await runTfliteWasmBench(log); sections['tflite-wasm'] = r; md.push('### TFLite models in WASM vs tfjs-tflite\n\n' + formatTfliteWasmBench(r)); }
  if (only.includes('matformer')) { const r = await runMatformerBench(log); sections.matformer = r; md.push('### MatFormer BERT (TinyBERT scale) in WASM vs onnxruntime-web\n\n' + formatMatformerBench(r)); }
  if (only.includes('mpc')) { const r = await runMpcBench(log); sections.mpc = r; md.push('### MPC\n\n' + formatMpcBench(r)); }
  if (only.includes('flash')) { const r = await runFlashBench(log); sections.flash = r; md.push('### Flashing the emulated board\n\n' + formatFlashBench(r)); }
  return { date: new Date().toISOString(), node: process.version, sections, markdown: md.join('\n\n') };
}
