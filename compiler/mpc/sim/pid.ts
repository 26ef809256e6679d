/**
 * Discrete PID: derivative on the measurement through a first-order filter, output saturation with
 * conditional-integration anti-windup, and a grid-search tuner that minimizes tracking RMSE on the
 * plant itself (the PID gets the true plant; the MPC only its learned model).
 */
import type { Plant } from './plants.js';
import { makeReference } from './references.js';

export interface PidGains { kp: number; ki: number; kd: number; /** derivative filter time constant, s */ tf: number; /** feed-forward bias */ bias: number }

export class Pid {
  private integ = 0;
  private dFilt = 0;
  private yPrev: number | undefined;
  constructor(readonly g: PidGains, readonly dt: number, readonly uMin: number, readonly uMax: number) {}
  reset(): void { this.integ = 0; this.dFilt = 0; this.yPrev = undefined; }
  step(y: number, r: number): number {
    const e = r - y;
    const dy = this.yPrev === undefined ? 0 : (y - this.yPrev) / this.dt;
    this.yPrev = y;
    const a = this.g.tf / (this.g.tf + this.dt);
    this.dFilt = a * this.dFilt + (1 - a) * dy;
    const unsat = this.g.bias + this.g.kp * e + this.integ - this.g.kd * this.dFilt;
    const u = Math.min(this.uMax, Math.max(this.uMin, unsat));
    // integrate only while not pushing further into saturation
    if (u === unsat || (unsat > this.uMax && e < 0) || (unsat < this.uMin && e > 0)) this.integ += this.g.ki * e * this.dt;
    return u;
  }
}

/** RMSE of PID tracking `ref` on `plant` (reset first). */
export function pidRmse(plant: Plant, g: PidGains, ref: ArrayLike<number>): number {
  plant.reset();
  const pid = new Pid(g, plant.dt, plant.uMin, plant.uMax);
  let se = 0;
  for (let t = 0; t < ref.length; t++) {
    const y = plant.output();
    if (!Number.isFinite(y)) return Infinity;
    se += (y - ref[t]) ** 2;
    plant.step(pid.step(y, ref[t]));
  }
  return Math.sqrt(se / ref.length);
}

/** Grid search (log-spaced gains, then one refinement round) on step + waypoint references. */
export function tunePid(plant: Plant, steps = 600): PidGains {
  const refs = [makeReference('step', steps, plant.dt, plant.yRange), makeReference('waypoints', steps, plant.dt, plant.yRange, 99)];
  const bias = plant.uMin >= 0 ? 0 : 0;
  const score = (g: PidGains) => refs.reduce((s, r) => s + pidRmse(plant, g, r), 0);
  const span = plant.uMax - plant.uMin;
  const yspan = plant.yRange[1] - plant.yRange[0];
  const unit = span / yspan;
  let best: PidGains = { kp: unit, ki: 0, kd: 0, tf: 2 * plant.dt, bias }, bestS = score(best);
  const grid = (c: number) => [0.1, 0.25, 0.5, 1, 2, 4, 8].map((f) => c * f);
  for (const kp of grid(unit)) for (const ki of [0, ...grid(unit)]) for (const kd of [0, ...grid(unit * 0.1)]) {
    const g = { kp, ki, kd, tf: 2 * plant.dt, bias };
    const s = score(g);
    if (s < bestS) { bestS = s; best = g; }
  }
  for (let round = 0; round < 2; round++) {
    for (const key of ['kp', 'ki', 'kd'] as const) {
      for (const f of [0.6, 0.8, 1.25, 1.6]) {
        const g = { ...best, [key]: best[key] * f };
        const s = score(g);
        if (s < bestS) { bestS = s; best = g; }
      }
    }
  }
  return best;
}
