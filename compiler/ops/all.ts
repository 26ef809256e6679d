/** Registers every graph op (import for side effects). */
import './dense/index.js';
import './layer-norm/index.js';
import './batch-norm/index.js';
import './softmax/index.js';
import './elementwise/index.js';
import './transpose/index.js';
import './reshape/index.js';
import './patchify/index.js';
import './scaler/index.js';
import './quantize/index.js';
import './embedding/index.js';
import './attention/index.js';
import './rope/index.js';
import './slice/index.js';
