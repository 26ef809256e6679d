/** TFLite RESHAPE / SQUEEZE / EXPAND_DIMS: the data is unchanged (the output aliases the input); shapes come from the file. */
import { fail } from '../../errors.js';
import { registerTflGraphOp, registerTfliteOp, type TflNode } from '../tflite.js';

function lower(node: TflNode) {
  const a = node.attrs;
  const n = (s: number[]) => s.reduce((p, d) => p * d, 1);
  if (!a.inputInfo[0]) fail(`${a.where}: the input must be a graph value`);
  if (n(a.inputInfo[0].shape) !== n(a.outputInfo[0].shape)) fail(`${a.where}: cannot reshape [${a.inputInfo[0].shape}] to [${a.outputInfo[0].shape}]`);
  if (a.inputInfo[0].dtype !== a.outputInfo[0].dtype) fail(`${a.where}: input and output types differ`);
  const qi = a.inputInfo[0].quant, qo = a.outputInfo[0].quant;
  if (qi && qo && (qi.scale[0] !== qo.scale[0] || qi.zeroPoint[0] !== qo.zeroPoint[0])) fail(`${a.where}: a reshape that changes quantization is not supported`);
  return 'alias' as const;
}

registerTfliteOp({ code: 22, tflName: 'RESHAPE', graphOp: 'tfl.reshape' });
registerTfliteOp({ code: 43, tflName: 'SQUEEZE', graphOp: 'tfl.reshape' });
registerTfliteOp({ code: 70, tflName: 'EXPAND_DIMS', graphOp: 'tfl.reshape' });
registerTflGraphOp('tfl.reshape', { reference: ([x]) => [x.slice()], lower, parameters: () => 0 });
