/**
 * Plants for the closed-loop simulator (continuous-time, integrated with RK4 sub-steps inside each
 * control period). Each plant exposes its measured output y (one channel) and takes one control u.
 *
 *  - msd: mass-spring-damper  m ẍ + c ẋ + k x = u   (m = 1 kg, c = 0.8 N·s/m, k = 4 N/m; y = x, u = force in [-10, 10] N)
 *  - soft: a tendon-driven soft actuator: a motor with a first-order lag pulls a tendon through a
 *    backlash (play) operator (hysteresis) and a saturating tension law; the segment bends like a
 *    stiffening (cubic) spring with damping. y = bending angle (rad), u = motor command in [0, 1].
 */
export interface Plant {
  readonly name: string;
  readonly dt: number;
  readonly uMin: number;
  readonly uMax: number;
  /** reachable output range used for references */
  readonly yRange: [number, number];
  reset(): void;
  output(): number;
  /** applies u (clamped to [uMin, uMax]) for one control period */
  step(u: number): void;
}

export type PlantName = 'msd' | 'soft';
export const PLANT_NAMES: readonly PlantName[] = ['msd', 'soft'];

type Deriv = (s: number[], u: number) => number[];

function rk4(f: Deriv, s: number[], u: number, h: number): number[] {
  const k1 = f(s, u);
  const k2 = f(s.map((v, i) => v + (h / 2) * k1[i]), u);
  const k3 = f(s.map((v, i) => v + (h / 2) * k2[i]), u);
  const k4 = f(s.map((v, i) => v + h * k3[i]), u);
  return s.map((v, i) => v + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
}

export class MassSpringDamper implements Plant {
  readonly name = 'msd';
  readonly uMin = -10;
  readonly uMax = 10;
  readonly yRange: [number, number] = [-1.5, 1.5];
  private s = [0, 0];
  constructor(readonly dt = 0.02, readonly mass = 1, readonly c = 0.8, readonly k = 4) {}
  reset(): void { this.s = [0, 0]; }
  output(): number { return this.s[0]; }
  step(u: number): void {
    const f = Math.min(this.uMax, Math.max(this.uMin, u));
    const d: Deriv = ([x, v], F) => [v, (F - this.c * v - this.k * x) / this.mass];
    const sub = 4;
    for (let i = 0; i < sub; i++) this.s = rk4(d, this.s, f, this.dt / sub);
  }
}

export class SoftActuator implements Plant {
  readonly name = 'soft';
  readonly uMin = 0;
  readonly uMax = 1;
  readonly yRange: [number, number] = [0.15, 0.9];
  /** motor position, bending angle, angular rate, backlash output */
  private motor = 0;
  private theta = 0;
  private omega = 0;
  private play = 0;
  constructor(readonly dt = 0.02, readonly tauMotor = 0.05, readonly backlash = 0.06, readonly inertia = 0.02,
    readonly damping = 0.25, readonly k1 = 1.2, readonly k3 = 1.5, readonly gain = 2.2) {}
  reset(): void { this.motor = 0; this.theta = 0; this.omega = 0; this.play = 0; }
  output(): number { return this.theta; }
  step(u: number): void {
    const cmd = Math.min(this.uMax, Math.max(this.uMin, u));
    const sub = 8, h = this.dt / sub;
    for (let i = 0; i < sub; i++) {
      this.motor += (h / this.tauMotor) * (cmd - this.motor);
      // play operator: the tendon output only moves once the motor has taken up the slack
      const w = this.backlash / 2;
      if (this.motor - this.play > w) this.play = this.motor - w;
      else if (this.play - this.motor > w) this.play = this.motor + w;
      const tension = Math.tanh(1.6 * Math.max(0, this.play)); // saturating tendon tension
      const d: Deriv = ([th, om], t) => [om, (this.gain * t - this.damping * om - this.k1 * th - this.k3 * th * th * th) / this.inertia];
      [this.theta, this.omega] = rk4(d, [this.theta, this.omega], tension, h);
    }
  }
}

export function makePlant(name: PlantName, dt?: number): Plant {
  return name === 'msd' ? new MassSpringDamper(dt) : new SoftActuator(dt);
}
