/**
 * C99 controller: mpc.h + mpc.c holding the forward model (const weights in flash) and the Newton-Raphson
 * MPC solver, for `c` and `cortex-m4f`. Operation-for-operation the reference compiler/mpc/solver.ts
 * (precision 'f32'): float32 only, own expf/tanhf (no libm), no heap. Build with -ffp-contract=off so that
 * no multiply-add is fused; then results are bit-identical with the WASM controller.
 *
 *   int  mpc_step(const float *measurement, const float *reference, float *u_out);  returns status bits
 *   void mpc_reset(void);
 *   void mpc_predict(const float *x, float *y);
 */
import { cFloat, cList } from '../backends/c/cformat.js';
import { emitC } from '../backends/c/index.js';
import { EXP_C, LN2HI, LN2LO, LOG2E, TANH_C, HMIN, LDL_TOL } from './solver.js';
import type { MpcLayer, MpcPlan } from './spec.js';

/** int8 forward models add the model's own C (emitC of its int8 Program), which mpc.c calls through tf_model_run. */
export interface MpcCSources { 'mpc.h': string; 'mpc.c': string; 'model.h'?: string; 'model.c'?: string }

const arr = (type: string, name: string, v: ArrayLike<number>, fmt: (x: number) => string = String, per = 8) =>
  `static const ${type} ${name}[${Math.max(1, v.length)}] MPC_UNUSED = {\n${v.length ? cList(v, fmt, per) : '  0'}\n};\n`;

function actExpr(l: MpcLayer): [string, string] {
  switch (l.act) {
    case 'relu': return ['z > 0.0f ? z : 0.0f', 'z > 0.0f ? 1.0f : 0.0f'];
    case 'tanh': return ['mpc_tanhf(z)', '1.0f - h * h'];
    case 'sigmoid': return ['1.0f / (1.0f + mpc_expf(-z))', 'h * (1.0f - h)'];
    default: return ['z', '1.0f'];
  }
}

/**
 * `acc = acc + w[k] * v[k]` for k = 0..n-1 in order, unrolled by 4 (same operation order as the loop, so
 * the bits do not change; fewer loop instructions on the M4F). `idx` maps k to the element index.
 */
function dotC(acc: string, w: string, v: string, n: number, ind: string, idx: (k: string) => string): string {
  const body = (o: string) => `${acc} = ${acc} + ${w}[${idx(o)}] * ${v}[${idx(o)}];`;
  const k = (d: number) => (d ? `${ind} + ${d}` : ind);
  let out = '';
  if (n >= 4) out += `for (${ind} = 0; ${ind} + 4 <= ${n}; ${ind} += 4) {\n          ${[0, 1, 2, 3].map((d) => body(k(d))).join('\n          ')}\n        }\n        `;
  else out += `${ind} = 0;\n        `;
  if (n % 4) out += `for (; ${ind} < ${n}; ${ind}++) ${body(ind)}`;
  return out.trimEnd();
}

/**
 * The tangent pass fused with the primal one: each weight is loaded once and feeds z and the N tangent
 * accumulators t0..t{N-1}; every accumulator still sums in ascending input order, so the bits equal the
 * reference's separate loops. Layer 0 is unrolled with constant indices (only u/y inputs carry tangents).
 */
function fusedC(l: MpcLayer, first: boolean, dyn: Int32Array, N: number): string {
  const ts = Array.from({ length: N }, (_, i) => `t${i}`);
  const stmt = (e: string, withT: boolean) => [`z = z + w[${e}] * x[${e}];`, ...(withT ? ts.map((t, i) => `${t} = ${t} + w[${e}] * dx[${i * 0} + ${i} * MPC_W + ${e}];`) : [])];
  const lines: string[] = [];
  if (first && l.inF <= 64) {
    const isDyn = new Set(Array.from(dyn));
    for (let e = 0; e < l.inF; e++) lines.push(...stmt(String(e), isDyn.has(e)));
  } else if (first) {
    return '';
  } else {
    lines.push(`for (e = 0; e + 2 <= ${l.inF}; e += 2) {`, ...stmt('e', true).map((x) => '  ' + x), ...stmt('e + 1', true).map((x) => '  ' + x), '}');
    if (l.inF % 2) lines.push(`for (; e < ${l.inF}; e++) {`, ...stmt('e', true).map((x) => '  ' + x), '}');
  }
  return lines.map((x) => '      ' + x.replace(/dx\[0 \+ 0 \* MPC_W \+ /, 'dx[').replace(/dx\[0 \+ (\d+) \* MPC_W \+ /, 'dx[$1 * MPC_W + ')).join('\n');
}

function layerC(l: MpcLayer, i: number, dyn: Int32Array, N: number): string {
  const [act, dact] = actExpr(l);
  const first = i === 0;
  const fused = fusedC(l, first, dyn, N);
  const ts = Array.from({ length: N }, (_, k) => `t${k}`);
  const tangentBlock = fused
    ? `#if MPC_EXACT
    if (tangents) {
      float ${ts.map((t) => `${t} = 0.0f`).join(', ')};
      float d;
${fused}
      h = ${act};
      y[o] = h;
      d = ${dact};
${ts.map((t, k) => `      dy[${k} * MPC_W + o] = d * ${t};`).join('\n')}
      continue;
    }
#else
    (void)tangents;
#endif
`
    : '';
  return `${arr('float', `mpc_w${i}`, l.w, cFloat, 6)}${arr('float', `mpc_b${i}`, l.b, cFloat, 6)}
/* layer ${i}: dense ${l.inF} -> ${l.outF}, ${l.act}; with tangents: dy = act'(z) * (W dx) for each of the N directions */
static void mpc_layer${i}(const float *x, float *y, const float *dx, float *dy, int tangents) {
  const float *w = mpc_w${i};
  int32_t o, e${fused ? '' : ', i'};
  for (o = 0; o < ${l.outF}; o++, w += ${l.inF}) {
    float z = mpc_b${i}[o], h;
${tangentBlock}    ${dotC('z', 'w', 'x', l.inF, 'e', (k) => k).replace(/\n {8}/g, '\n    ')}
    h = ${act};
    y[o] = h;${fused ? `
    (void)dx;
    (void)dy;` : `
    if (tangents) {
      const float d = ${dact};
      for (i = 0; i < MPC_N; i++) {
        const float *dxi = dx + i * MPC_W;
        float t = 0.0f;
        int32_t q;
        ${dotC('t', 'w', 'dxi', dyn.length, 'q', (k) => `mpc_dyn[${k}]`)}
        dy[i * MPC_W + o] = d * t;
      }
    }`}
  }
}
`;
}

export function emitMpcC(plan: MpcPlan, target: 'c' | 'cortex-m4f' = 'cortex-m4f'): MpcCSources {
  const { layers, m, p, s, nIn, n, N1, N2, Nu, HU, HY, maxWidth: W } = plan;
  const NL = layers.length;
  const F = cFloat;
  const header = `/* ${plan.name}: Newton-Raphson MPC generated by tinyforge (${target}). Do not edit. */
#ifndef MPC_H
#define MPC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPC_NAME "${plan.name}"
/* measurement = [${p} model outputs, ${s} sensors]; reference = [${plan.preview ? `${N2} rows (r[t+1] .. r[t+N2]) of ${p}` : p}]; u_out = [${m}] */
#define MPC_MEASUREMENT_SIZE ${p + s}
#define MPC_OUTPUT_SIZE ${p}
#define MPC_REFERENCE_SIZE ${plan.refSize}
#define MPC_CONTROL_SIZE ${m}
#define MPC_MODEL_INPUT_SIZE ${nIn}
#define MPC_RATE_HZ ${plan.rateHz}
/* status bits returned by mpc_step */
#define MPC_STATUS_NONFINITE 1
#define MPC_STATUS_GRADIENT_STEP 2

/* One control tick: reads the measurement and reference, writes the controls to apply now. Not reentrant. */
int mpc_step(const float *measurement, const float *reference, float *u_out);
/* Forget the history: the next mpc_step initializes it from its measurement. */
void mpc_reset(void);
/* The forward model with the controller's arithmetic: x[MPC_MODEL_INPUT_SIZE] -> y[MPC_OUTPUT_SIZE]. */
void mpc_predict(const float *x, float *y);

#ifdef __cplusplus
}
#endif

#endif /* MPC_H */
`;

  const q = plan.int8;
  if (q && plan.mode !== 'finite-difference') throw new Error('internal: int8 MPC plans use finite-difference derivatives');
  const lay = q ? '' : layers.map((l, i) => layerC(l, i, plan.dyn, n)).join('\n');
  const calls = q
    ? `  /* the int8 forward model, exactly its own C: quantize -> integer layers -> dequantize (model.c) */
  (void)tangents;
  tf_model_run(mpc_x, mpc_x + ${W});`
    : layers.map((_, i) => `  mpc_layer${i}(mpc_x + ${i * W}, mpc_x + ${(i + 1) * W}, mpc_dx + ${i * W * n}, mpc_dx + ${(i + 1) * W * n}, tangents);`).join('\n');
  const model = q ? emitC(q, { target }) : undefined;
  const source = `/* ${plan.name}: Newton-Raphson MPC generated by tinyforge (${target}, derivatives: ${plan.mode}${q ? ', int8 forward model' : ''}). Do not edit.
   Compile with -ffp-contract=off: the float operation order matches the WASM controller bit for bit. */
#include <stdint.h>
#include <string.h>
#include "mpc.h"
${q ? '#include "model.h" /* int8 forward model */\n' : ''}
#if defined(__GNUC__)
#define MPC_UNUSED __attribute__((unused))
#else
#define MPC_UNUSED
#endif

#define MPC_M ${m}
#define MPC_P ${p}
#define MPC_S ${s}
#define MPC_NIN ${nIn}
#define MPC_N ${n}
#define MPC_N1 ${N1}
#define MPC_N2 ${N2}
#define MPC_NU ${Nu}
#define MPC_W ${W}
#define MPC_HU ${HU}
#define MPC_HY ${HY}
#define MPC_NDYN ${plan.dyn.length}
#define MPC_ITERATIONS ${plan.iterations}
#define MPC_BOUNDED ${plan.clamp || plan.barrier > 0 ? 1 : 0}
#define MPC_BARRIER ${plan.barrier > 0 ? 1 : 0}
#define MPC_EXACT ${plan.mode === 'exact' ? 1 : 0}
#define MPC_REF_ROW(k) ${plan.preview ? '((k) * MPC_P)' : '0'}

static const float mpc_eps MPC_UNUSED = ${F(plan.epsilon)};
static const float mpc_s MPC_UNUSED = ${F(plan.barrier)};
static const float mpc_max_step MPC_UNUSED = ${F(plan.maxStep)};
${arr('int32_t', 'mpc_layout', plan.layout, String, 12)}${arr('int32_t', 'mpc_dyn', plan.dyn, String, 16)}${arr('float', 'mpc_Q', plan.Q, F)}${arr('float', 'mpc_lambda', plan.lambda, F)}${arr('float', 'mpc_half', plan.half, F)}${arr('float', 'mpc_center', plan.center, F)}${arr('float', 'mpc_four', plan.fourOverR, F)}${arr('float', 'mpc_clo', plan.clo, F)}${arr('float', 'mpc_chi', plan.chi, F)}${arr('float', 'mpc_uinit', plan.uInit, F)}
/* state and scratch (static; no heap) */
static float mpc_U[MPC_N] MPC_UNUSED, mpc_uhist[MPC_HU * MPC_M], mpc_yhist[MPC_HY * MPC_P], mpc_sens[${Math.max(1, s)}], mpc_ref[MPC_REFERENCE_SIZE];
static float mpc_ypred[MPC_N2 * MPC_P], mpc_dY[MPC_N2 * MPC_P * MPC_N];
static float mpc_x[${(NL + 1) * W}], mpc_dx[${(NL + 1) * W * n}];
static float mpc_g[MPC_N], mpc_H[MPC_N * MPC_N], mpc_Up[MPC_N] MPC_UNUSED, mpc_L[MPC_N * MPC_N], mpc_D[MPC_N], mpc_zz[MPC_N], mpc_delta[MPC_N];
static int mpc_init;

static MPC_UNUSED float mpc_expf(float x) {
  union { int32_t i; float f; } sc;
  float t, r, p, kf;
  int32_t k;
  if (x != x) return x; /* NaN in, NaN out (a NaN -> int conversion would be undefined) */
  if (x > ${F(88)}) x = ${F(88)};
  if (x < ${F(-87)}) x = ${F(-87)};
  t = x * ${F(LOG2E)};
  k = t >= 0.0f ? (int32_t)(t + 0.5f) : (int32_t)(t - 0.5f);
  kf = (float)k;
  r = x - kf * ${F(LN2HI)};
  r = r - kf * ${F(LN2LO)};
  p = ${F(EXP_C[0])};
${EXP_C.slice(1).map((c) => `  p = p * r + ${F(c)};`).join('\n')}
  p = p * r + 1.0f;
  sc.i = (k + 127) << 23;
  return p * sc.f;
}

static MPC_UNUSED float mpc_tanhf(float x) {
  const float a = x < 0.0f ? -x : x;
  float r;
  if (a < 0.5f) {
    const float x2 = a * a;
    float p = ${F(TANH_C[0])};
${TANH_C.slice(1).map((c) => `    p = p * x2 + ${F(c)};`).join('\n')}
    r = a + (a * x2) * p;
  } else if (a < 9.0f) {
    const float e = mpc_expf(a + a);
    r = 1.0f - 2.0f / (e + 1.0f);
  } else if (a >= 9.0f) {
    r = 1.0f;
  } else {
    r = a; /* NaN */
  }
  return x < 0.0f ? -r : r;
}

${lay}
static void mpc_forward(int tangents) {
${calls}
}

static void mpc_build_input(int32_t k, const float *Uv, int tangents) {
  float *x = mpc_x, *dx = mpc_dx;
  int32_t e, i;
  for (e = 0; e < MPC_NIN; e++) {
    const int32_t kind = mpc_layout[3 * e], ch = mpc_layout[3 * e + 1], lag = mpc_layout[3 * e + 2];
    const int32_t j = k - lag;
    if (kind == 0) {
      if (j >= 0) {
        const int32_t idx = (j < MPC_NU ? j : MPC_NU - 1) * MPC_M + ch;
        x[e] = Uv[idx];
        if (tangents) for (i = 0; i < MPC_N; i++) dx[i * MPC_W + e] = i == idx ? 1.0f : 0.0f;
      } else {
        x[e] = mpc_uhist[(-j - 1) * MPC_M + ch];
        if (tangents) for (i = 0; i < MPC_N; i++) dx[i * MPC_W + e] = 0.0f;
      }
    } else if (kind == 1) {
      if (j > 0) {
        x[e] = mpc_ypred[(j - 1) * MPC_P + ch];
        if (tangents) for (i = 0; i < MPC_N; i++) dx[i * MPC_W + e] = mpc_dY[((j - 1) * MPC_P + ch) * MPC_N + i];
      } else {
        x[e] = mpc_yhist[-j * MPC_P + ch];
        if (tangents) for (i = 0; i < MPC_N; i++) dx[i * MPC_W + e] = 0.0f;
      }
    } else {
      x[e] = mpc_sens[ch];
    }
  }
}

static void mpc_rollout(const float *Uv, int tangents) {
  const float *out = mpc_x + ${NL * W}, *dout = mpc_dx + ${NL * W * n};
  int32_t k, c, i;
  for (k = 0; k < MPC_N2; k++) {
    mpc_build_input(k, Uv, tangents);
    mpc_forward(tangents);
    for (c = 0; c < MPC_P; c++) {
      mpc_ypred[k * MPC_P + c] = out[c];
      if (tangents) for (i = 0; i < MPC_N; i++) mpc_dY[(k * MPC_P + c) * MPC_N + i] = dout[i * MPC_W + c];
    }
  }
}

#if !MPC_EXACT
static float mpc_cost(const float *Uv) {
  float J = 0.0f;
  int32_t k, c, j;
  mpc_rollout(Uv, 0);
  for (k = MPC_N1 - 1; k < MPC_N2; k++) {
    for (c = 0; c < MPC_P; c++) {
      const float e = mpc_ref[MPC_REF_ROW(k) + c] - mpc_ypred[k * MPC_P + c];
      J = J + mpc_Q[c] * (e * e);
    }
  }
  for (j = 0; j < MPC_NU; j++) {
    for (c = 0; c < MPC_M; c++) {
      const float prev = j == 0 ? mpc_uhist[c] : Uv[(j - 1) * MPC_M + c];
      const float d = Uv[j * MPC_M + c] - prev;
      J = J + mpc_lambda[c] * (d * d);
    }
  }
#if MPC_BARRIER
  for (j = 0; j < MPC_NU; j++) {
    for (c = 0; c < MPC_M; c++) {
      const float u = Uv[j * MPC_M + c];
      const float a1 = (u + mpc_half[c]) - mpc_center[c], a2 = (mpc_half[c] + mpc_center[c]) - u;
      J = J + ((mpc_s / a1 + mpc_s / a2) - mpc_four[c]);
    }
  }
#endif
  return J;
}

static float mpc_probe(int32_t i, int si, int32_t j, int sj) {
  memcpy(mpc_Up, mpc_U, sizeof mpc_U);
  mpc_Up[i] = si > 0 ? mpc_U[i] + mpc_eps : mpc_U[i] - mpc_eps;
  if (j >= 0) mpc_Up[j] = sj > 0 ? mpc_U[j] + mpc_eps : mpc_U[j] - mpc_eps;
  return mpc_cost(mpc_Up);
}

static void mpc_derivatives(void) {
  const float eps2 = mpc_eps + mpc_eps, epsq = mpc_eps * mpc_eps, eps4 = epsq * 4.0f;
  const float J0 = mpc_cost(mpc_U);
  const float twoJ0 = J0 + J0;
  int32_t i, j;
  for (i = 0; i < MPC_N; i++) {
    const float jp = mpc_probe(i, 1, -1, 0), jm = mpc_probe(i, -1, -1, 0);
    mpc_g[i] = (jp - jm) / eps2;
    mpc_H[i * MPC_N + i] = ((jp + jm) - twoJ0) / epsq;
  }
  for (i = 1; i < MPC_N; i++) {
    for (j = 0; j < i; j++) {
      const float jpp = mpc_probe(i, 1, j, 1), jpm = mpc_probe(i, 1, j, -1);
      const float jmp = mpc_probe(i, -1, j, 1), jmm = mpc_probe(i, -1, j, -1);
      mpc_H[i * MPC_N + j] = ((jpp - jpm) - (jmp - jmm)) / eps4;
    }
  }
}
#else
static void mpc_derivatives(void) {
  int32_t k, c, i, j;
  memset(mpc_g, 0, sizeof mpc_g);
  memset(mpc_H, 0, sizeof mpc_H);
  mpc_rollout(mpc_U, 1);
  for (k = MPC_N1 - 1; k < MPC_N2; k++) {
    for (c = 0; c < MPC_P; c++) {
      const float e = mpc_ref[MPC_REF_ROW(k) + c] - mpc_ypred[k * MPC_P + c];
      const float qe = mpc_Q[c] * e, tw = qe + qe, q2 = mpc_Q[c] + mpc_Q[c];
      const float *dy = mpc_dY + (k * MPC_P + c) * MPC_N;
      for (i = 0; i < MPC_N; i++) {
        const float di = dy[i], qd = q2 * di;
        mpc_g[i] = mpc_g[i] - tw * di;
        for (j = 0; j <= i; j++) mpc_H[i * MPC_N + j] = mpc_H[i * MPC_N + j] + qd * dy[j];
      }
    }
  }
  for (j = 0; j < MPC_NU; j++) {
    for (c = 0; c < MPC_M; c++) {
      const int32_t idx = j * MPC_M + c;
      const float prev = j == 0 ? mpc_uhist[c] : mpc_U[idx - MPC_M];
      const float d = mpc_U[idx] - prev, l2 = mpc_lambda[c] + mpc_lambda[c], ld = l2 * d;
      mpc_g[idx] = mpc_g[idx] + ld;
      mpc_H[idx * MPC_N + idx] = mpc_H[idx * MPC_N + idx] + l2;
      if (j > 0) {
        const int32_t q = idx - MPC_M;
        mpc_g[q] = mpc_g[q] - ld;
        mpc_H[q * MPC_N + q] = mpc_H[q * MPC_N + q] + l2;
        mpc_H[idx * MPC_N + q] = mpc_H[idx * MPC_N + q] - l2;
      }
    }
  }
#if MPC_BARRIER
  {
    const float s2 = mpc_s + mpc_s;
    int32_t idx;
    for (idx = 0; idx < MPC_N; idx++) {
      const int32_t cc = idx % MPC_M;
      const float u = mpc_U[idx];
      const float a1 = (u + mpc_half[cc]) - mpc_center[cc], a2 = (mpc_half[cc] + mpc_center[cc]) - u;
      const float a1s = a1 * a1, a2s = a2 * a2;
      mpc_g[idx] = mpc_g[idx] - mpc_s / a1s;
      mpc_g[idx] = mpc_g[idx] + mpc_s / a2s;
      mpc_H[idx * MPC_N + idx] = mpc_H[idx * MPC_N + idx] + s2 / (a1s * a1);
      mpc_H[idx * MPC_N + idx] = mpc_H[idx * MPC_N + idx] + s2 / (a2s * a2);
    }
  }
#endif
}
#endif

/* LDL^T solve of H delta = -g (lower triangle); 0 if H is not positive definite */
static int mpc_solve(void) {
  float hmax = 0.0f, tol;
  int32_t i, j, k;
  for (i = 0; i < MPC_N; i++) {
    const float h = mpc_H[i * MPC_N + i];
    const float a = h < 0.0f ? -h : h;
    if (a > hmax) hmax = a;
  }
  if (!(hmax > 0.0f)) return 0;
  tol = hmax * ${F(LDL_TOL)};
  for (j = 0; j < MPC_N; j++) {
    float d = mpc_H[j * MPC_N + j];
    for (k = 0; k < j; k++) d = d - (mpc_L[j * MPC_N + k] * mpc_L[j * MPC_N + k]) * mpc_D[k];
    if (!(d > tol)) return 0;
    mpc_D[j] = d;
    for (i = j + 1; i < MPC_N; i++) {
      float v = mpc_H[i * MPC_N + j];
      for (k = 0; k < j; k++) v = v - (mpc_L[i * MPC_N + k] * mpc_L[j * MPC_N + k]) * mpc_D[k];
      mpc_L[i * MPC_N + j] = v / d;
    }
  }
  for (i = 0; i < MPC_N; i++) {
    float v = -mpc_g[i];
    for (k = 0; k < i; k++) v = v - mpc_L[i * MPC_N + k] * mpc_zz[k];
    mpc_zz[i] = v;
  }
  for (i = 0; i < MPC_N; i++) mpc_zz[i] = mpc_zz[i] / mpc_D[i];
  for (i = MPC_N - 1; i >= 0; i--) {
    float v = mpc_zz[i];
    for (k = i + 1; k < MPC_N; k++) v = v - mpc_L[k * MPC_N + i] * mpc_delta[k];
    mpc_delta[i] = v;
  }
  return 1;
}

static int mpc_newton(void) {
  int32_t i, j;
  int status = 0;
  mpc_derivatives();
  for (i = 0; i < MPC_N; i++) {
    if (mpc_g[i] - mpc_g[i] != 0.0f) return MPC_STATUS_NONFINITE;
    for (j = 0; j <= i; j++) if (mpc_H[i * MPC_N + j] - mpc_H[i * MPC_N + j] != 0.0f) return MPC_STATUS_NONFINITE;
  }
  if (!mpc_solve()) {
    status = MPC_STATUS_GRADIENT_STEP;
    for (i = 0; i < MPC_N; i++) {
      const float h = mpc_H[i * MPC_N + i];
      float a = h < 0.0f ? -h : h;
      if (a < ${F(HMIN)}) a = ${F(HMIN)};
      mpc_delta[i] = -mpc_g[i] / a;
    }
  }
  for (i = 0; i < MPC_N; i++) {
    float d = mpc_delta[i], u;
    if (d > mpc_max_step) d = mpc_max_step;
    if (d < -mpc_max_step) d = -mpc_max_step;
    u = mpc_U[i] + d;
#if MPC_BOUNDED
    if (u < mpc_clo[i % MPC_M]) u = mpc_clo[i % MPC_M];
    if (u > mpc_chi[i % MPC_M]) u = mpc_chi[i % MPC_M];
#endif
    mpc_U[i] = u;
  }
  return status;
}

int mpc_step(const float *measurement, const float *reference, float *u_out) {
  int32_t r, c, j, it;
  int status = 0;
  if (!mpc_init) {
    for (r = 0; r < MPC_HY; r++) for (c = 0; c < MPC_P; c++) mpc_yhist[r * MPC_P + c] = measurement[c];
    for (r = 0; r < MPC_HU; r++) for (c = 0; c < MPC_M; c++) mpc_uhist[r * MPC_M + c] = mpc_uinit[c];
    for (j = 0; j < MPC_NU; j++) for (c = 0; c < MPC_M; c++) mpc_U[j * MPC_M + c] = mpc_uinit[c];
    mpc_init = 1;
  } else {
    for (r = MPC_HY - 1; r > 0; r--) for (c = 0; c < MPC_P; c++) mpc_yhist[r * MPC_P + c] = mpc_yhist[(r - 1) * MPC_P + c];
    for (c = 0; c < MPC_P; c++) mpc_yhist[c] = measurement[c];
  }
  for (c = 0; c < MPC_S; c++) mpc_sens[c] = measurement[MPC_P + c];
  for (c = 0; c < MPC_REFERENCE_SIZE; c++) mpc_ref[c] = reference[c];
  for (it = 0; it < MPC_ITERATIONS; it++) {
    const int st = mpc_newton();
    status |= st;
    if (st & MPC_STATUS_NONFINITE) break;
  }
  for (c = 0; c < MPC_M; c++) u_out[c] = mpc_U[c];
  for (r = MPC_HU - 1; r > 0; r--) for (c = 0; c < MPC_M; c++) mpc_uhist[r * MPC_M + c] = mpc_uhist[(r - 1) * MPC_M + c];
  for (c = 0; c < MPC_M; c++) mpc_uhist[c] = mpc_U[c];
  for (j = 0; j + 1 < MPC_NU; j++) for (c = 0; c < MPC_M; c++) mpc_U[j * MPC_M + c] = mpc_U[(j + 1) * MPC_M + c];
  return status;
}

void mpc_reset(void) {
  mpc_init = 0;
}

void mpc_predict(const float *x, float *y) {
  memcpy(mpc_x, x, sizeof(float) * MPC_NIN);
  mpc_forward(0);
  memcpy(y, mpc_x + ${NL * W}, sizeof(float) * MPC_P);
}
`;
  return model ? { 'mpc.h': header, 'mpc.c': source, 'model.h': model['model.h'], 'model.c': model['model.c'] } : { 'mpc.h': header, 'mpc.c': source };
}
