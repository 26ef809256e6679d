/**
 * Seeded faulted flash sessions against a board behind a FaultProxy (used by test/flash-faults.test.ts
 * for a CI subset and by scripts/flash-faults.mjs for the full run). Each session flashes the other of
 * two models under a random fault plan; after it, over a clean line, the campaign checks that the
 * loader answers, that the active model's slot reads back with its committed CRC, that the active
 * model is the old or the new one (the new one when the flash reported success) and that it computes
 * the check vector bit for bit. A final clean flash with --verify must succeed.
 */
import { TinyforgeError } from '../errors.js';
import { openCompiled } from '../run.js';
import { loadBoard } from './boards.js';
import { connect, flashModel, loadVectors, verifyOnBoard } from './flash.js';
import { seededRandom, startFaultLine, type FaultCounts, type FaultPlan } from './fault-proxy.js';
import { buildModelImage } from './image.js';

export interface CampaignOptions {
  boardPty: string;
  /** two compiled folders (cortex-m4f); sessions alternate between them */
  models: [string, string];
  sessions: number;
  seed: number;
  log?: (s: string) => void;
}

export interface CampaignReport {
  sessions: number;
  seed: number;
  /** sessions where the proxy injected at least one fault */
  faulted: number;
  /** flash reported success: first try / after restarting the session */
  succeeded: number;
  succeededAfterRestart: number;
  /** flash reported a one-line error (e.g. a line cut for good) */
  reported: number;
  /** post-session checks over a clean line */
  loaderAnswered: number;
  activeCrcMatched: number;
  activeIsOldOrNew: number;
  activeComputesVectors: number;
  /** sessions that ended neither in success nor in a reported error (must be 0) */
  silent: number;
  finalCleanFlash: boolean;
  faults: FaultCounts;
  violations: string[];
  errors: Record<string, number>;
  ms: number;
}

export function faultPlan(seed: number, imageBytes: number): FaultPlan {
  const r = seededRandom(seed * 2654435761);
  const p: FaultPlan = { seed };
  if (r() < 0.6) p.drop = r() * 4e-4;
  if (r() < 0.6) p.flip = r() * 4e-4;
  if (r() < 0.4) p.duplicate = r() * 3e-4;
  if (r() < 0.3) { p.delay = 0.05; p.maxDelayMs = 150; }
  if (r() < 0.45) {
    p.cutAfterBytes = 1 + Math.floor(r() * imageBytes * 1.05);
    p.cutMs = r() < 0.25 ? Infinity : 200 + Math.floor(r() * 1500);
  }
  return p;
}

const addCounts = (a: FaultCounts, b: FaultCounts) => { for (const k of Object.keys(a) as Array<keyof FaultCounts>) a[k] += b[k]; };

export async function runFaultCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const t0 = performance.now();
  const line = await startFaultLine(o.boardPty);
  const rep: CampaignReport = {
    sessions: 0, seed: o.seed, faulted: 0, succeeded: 0, succeededAfterRestart: 0, reported: 0, loaderAnswered: 0, activeCrcMatched: 0,
    activeIsOldOrNew: 0, activeComputesVectors: 0, silent: 0, finalCleanFlash: false,
    faults: { bytes: 0, dropped: 0, flipped: 0, duplicated: 0, delayed: 0, cuts: 0, droppedByCut: 0 }, violations: [], errors: {}, ms: 0,
  };
  const fast = { timeoutMs: 250, attempts: 5, connectMs: 2000 };
  try {
    line.proxy.setPlan(undefined);
    await flashModel(line.port, o.models[1], fast); // start from a committed model
    // expected images (per model, per slot) from the board's own layout
    const c0 = await connect(line.port, fast);
    const info = c0.info;
    await c0.close();
    const profile = loadBoard(info.boardId);
    const models = o.models.map((dir) => openCompiled(dir));
    const images = await Promise.all(models.map((m) => Promise.all([0, 1].map((slot) => buildModelImage(
      { dir: m.dir, target: m.manifest.target, name: m.program.name }, profile,
      { slotAddr: info.slots[slot].addr, slotSize: info.slots[slot].size, modelRamAddr: info.modelRam.addr, modelRamSize: info.modelRam.size })))));
    const vectors = models.map((m) => {
      const v = loadVectors(`${m.dir}/check.safetensors`, m);
      return { ...v, inputs: v.inputs.slice(0, 1), expected: v.expected?.slice(0, 1), inputsQ: v.inputsQ?.slice(0, 1), expectedQ: v.expectedQ?.slice(0, 1) };
    });
    const which = (slot: number, crc: number) => images.findIndex((per) => per[slot].crc === crc);
    let prev = info.active ? { slot: info.active.slot, crc: info.active.crc } : undefined;

    for (let i = 0; i < o.sessions; i++) {
      const target = i % 2;
      const plan = faultPlan(o.seed + i, images[target][0].bytes.length);
      line.proxy.setPlan(plan);
      let ok = false, failed = false, message = '';
      try {
        const r = await flashModel(line.port, o.models[target], { ...fast, sessions: 2 });
        ok = true;
        rep.succeeded++;
        if (r.restarts) rep.succeededAfterRestart++;
      } catch (e) {
        if (!(e instanceof TinyforgeError)) throw e;
        failed = true;
        message = e.message;
        rep.reported++;
        const key = message.replace(/^[^:]*: /, '').replace(/\d+/g, 'N').slice(0, 60);
        rep.errors[key] = (rep.errors[key] ?? 0) + 1;
      }
      if (!ok && !failed) rep.silent++;
      const counts = line.proxy.counts;
      if (counts.dropped + counts.flipped + counts.duplicated + counts.delayed + counts.cuts > 0) rep.faulted++;
      addCounts(rep.faults, counts);
      line.proxy.setPlan(undefined);
      rep.sessions++;

      // post-checks over a clean line
      const bad = (s: string) => rep.violations.push(`session ${i} (seed ${o.seed + i}): ${s}`);
      let c;
      try {
        c = await connect(line.port, { ...fast, connectMs: 4000 });
      } catch (e) {
        bad(`loader did not answer: ${(e as Error).message}`);
        continue;
      }
      try {
        rep.loaderAnswered++;
        const a = c.info.active;
        if (!a) { bad('no active model'); continue; }
        const crc = await c.session.crc(c.info.slots[a.slot].addr, a.size);
        if (crc === a.crc) rep.activeCrcMatched++;
        else bad(`active slot reads back crc ${crc.toString(16)}, committed ${a.crc.toString(16)}`);
        const m = which(a.slot, a.crc);
        const isNew = m === target;
        const isOld = !!prev && prev.slot === a.slot && prev.crc === a.crc;
        if ((ok && isNew) || (!ok && (isNew || isOld))) rep.activeIsOldOrNew++;
        else bad(`active model (slot ${a.slot}, crc ${a.crc.toString(16)}) is neither the committed old nor the new one (flash ${ok ? 'succeeded' : 'failed'})`);
        if (m >= 0) {
          const v = await verifyOnBoard(c, vectors[m]);
          if (v.ok) rep.activeComputesVectors++;
          else bad('active model does not reproduce its check vector');
        }
        prev = { slot: a.slot, crc: a.crc };
      } finally {
        await c.close();
      }
      o.log?.(`session ${i + 1}/${o.sessions}: ${ok ? 'flashed' : `reported: ${message}`} [faults ${JSON.stringify(counts)}]`);
    }
    line.proxy.setPlan(undefined);
    try {
      const r = await flashModel(line.port, o.models[0], { verify: true });
      rep.finalCleanFlash = !!r.verify?.ok;
    } catch (e) {
      rep.violations.push(`final clean flash failed: ${(e as Error).message}`);
    }
  } finally {
    await line.stop();
  }
  rep.ms = performance.now() - t0;
  return rep;
}
