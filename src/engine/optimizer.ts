import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsOn } from './native-blas.ts';
import { scalars } from './scalars.ts';
import { ADAM_UPDATE, type AdamAttrs } from './wasm-native-adam.ts';
import { SGD_UPDATE, type SgdAttrs } from './webgpu-optimizer.ts';

export interface OptimizerSettings {
  optimizer: 'adam' | 'sgd';
  /** the base rate: each step's comes from the schedule (`apply`'s `learningRate`) */
  learningRate: number;
  momentum: number;
  weightDecay: number;
  /** SGD: Nesterov momentum (PyTorch's formula); false where absent */
  nesterov?: boolean;
  /** 'l2' (coupled, the default) or 'decoupled' (Loshchilov & Hutter 2019; spec.ts says how) */
  weightDecayMode?: 'l2' | 'decoupled';
}

/** Everything an optimiser needs to continue exactly: its step count and slot values. */
export interface OptimizerState {
  step: number;
  /** `<param>/m`, `<param>/v` (Adam) or `<param>/momentum` (SGD) */
  slots: Map<string, Float32Array>;
}

/**
 * Fused updates where the backend has them: Adam on wasm with the addon (one native kernel
 * per parameter) and on WebGPU, SGD with momentum on WebGPU (src/engine/webgpu-optimizer.ts).
 */
const hasKernel = (kernel: string) =>
  nativeKernelsOn() && tf.getKernel(kernel, tf.getBackend()) !== undefined;

/**
 * One step's fused update: its kernel and attributes, and its slots as [kernel input, slot
 * name]; the kernel takes w, g, the slots (and the mask) and returns w and the slots in order.
 */
interface FusedUpdate {
  kernel: string;
  attrs: tf.NamedAttrMap;
  slots: [string, 'm' | 'v' | 'momentum'][];
}

// Adam's constants as in PyTorch and the TF default the papers used.
export const BETA1 = 0.9;
export const BETA2 = 0.999;
export const EPSILON = 1e-8;

/**
 * Adam and SGD with momentum, written with tfjs ops so that the state is ours to
 * checkpoint by parameter name (tfjs optimisers restore slots by position). Updates follow
 * PyTorch's formulas: SGD momentum without dampening, b ← μ·b + g, then w ← w − lr·b, or
 * with Nesterov w ← w − lr·(g + μ·b); weight decay either coupled (L2: g ← g + wd·w, as
 * PyTorch's SGD and Adam) or decoupled (w ← w·(1 − lr·wd) before the step, as PyTorch's
 * AdamW; Loshchilov & Hutter 2019), lr being the step's scheduled rate. Parameters
 * with a 0/1 mask keep their pruned weights and those weights' slots at exactly zero: the
 * gradient is masked before the update and the weight after it (in the same pass, by the
 * native Adam kernel, where it runs).
 */
export class Optimizer {
  private step = 0;
  private readonly slots = new Map<string, tf.Variable>();

  constructor(
    private readonly settings: OptimizerSettings,
    private readonly params: Map<string, tf.Variable>,
    private readonly masks: ReadonlyMap<string, tf.Tensor> = new Map(),
    /** parameters kept inside [min, max] after each update (ParamSpec.bounds) */
    private readonly bounds: ReadonlyMap<string, readonly [number, number]> = new Map(),
  ) {
    const names =
      settings.optimizer === 'adam' ? ['m', 'v'] : settings.momentum > 0 ? ['momentum'] : [];
    for (const [param, v] of params) {
      for (const slot of names) {
        this.slots.set(
          `${param}/${slot}`,
          tf.tidy(() => tf.variable(tf.zerosLike(v), false)),
        );
      }
    }
  }

  /** Counts the step about to be taken (from 1, for Adam's bias corrections) and returns it. */
  nextStep(): number {
    return ++this.step;
  }

  /** A parameter's slot variable: `m` and `v` (Adam) or `momentum` (SGD with momentum). */
  slot(param: string, name: 'm' | 'v' | 'momentum'): tf.Variable | undefined {
    return this.slots.get(`${param}/${name}`);
  }

  /** The backend's fused update for these settings at this step, or null where it has none. */
  private fusedUpdate(lr: number, weightDecay: number): FusedUpdate | null {
    const { optimizer, momentum, nesterov } = this.settings;
    if (optimizer === 'adam' && hasKernel(ADAM_UPDATE)) {
      const attrs: AdamAttrs = {
        learningRate: lr,
        beta1: BETA1,
        beta2: BETA2,
        epsilon: EPSILON,
        weightDecay,
        step: this.step,
      };
      return {
        kernel: ADAM_UPDATE,
        attrs,
        slots: [
          ['m', 'm'],
          ['v', 'v'],
        ],
      };
    }
    if (optimizer === 'sgd' && momentum > 0 && hasKernel(SGD_UPDATE)) {
      const attrs: SgdAttrs = {
        learningRate: lr,
        momentum,
        weightDecay,
        nesterov: nesterov ?? false,
      };
      return { kernel: SGD_UPDATE, attrs, slots: [['buf', 'momentum']] };
    }
    return null;
  }

  /** One update from gradients by parameter name at this step's rate; call inside tf.tidy. */
  apply(grads: Map<string, tf.Tensor>, lr = this.settings.learningRate): void {
    this.nextStep();
    const { momentum, nesterov } = this.settings;
    const decoupled = this.settings.weightDecayMode === 'decoupled';
    const coupledDecay = decoupled ? 0 : this.settings.weightDecay;
    const shrink = decoupled ? 1 - lr * this.settings.weightDecay : 1;
    const k = scalars();
    const fused = this.fusedUpdate(lr, coupledDecay);
    for (const [name, w] of this.params) {
      let g = grads.get(name);
      if (!g) continue;
      const mask = this.masks.get(name);
      if (shrink !== 1) w.assign(tf.mul(w, k(shrink)));
      if (fused) {
        const slots = fused.slots.map(([input, slot]) => [input, this.slot(name, slot)!] as const);
        const inputs = { w, g, ...Object.fromEntries(slots), ...(mask ? { mask } : {}) };
        const [w2, ...updated] = tf
          .engine()
          .runKernel(fused.kernel, inputs, fused.attrs) as tf.Tensor[];
        w.assign(w2!);
        slots.forEach(([, slot], i) => slot.assign(updated[i]!));
        this.clamp(name, w);
        continue;
      }
      if (mask) g = tf.mul(g, mask);
      if (coupledDecay > 0) g = tf.add(g, tf.mul(w, k(coupledDecay)));
      if (this.settings.optimizer === 'adam') {
        const m = this.slots.get(`${name}/m`)!;
        const v = this.slots.get(`${name}/v`)!;
        m.assign(tf.add(tf.mul(m, k(BETA1)), tf.mul(g, k(1 - BETA1))));
        v.assign(tf.add(tf.mul(v, k(BETA2)), tf.mul(tf.square(g), k(1 - BETA2))));
        const bc1 = 1 - BETA1 ** this.step;
        const bc2 = 1 - BETA2 ** this.step;
        const denom = tf.add(tf.div(tf.sqrt(v), k(Math.sqrt(bc2))), k(EPSILON));
        w.assign(tf.sub(w, tf.mul(tf.div(m, denom), k(lr / bc1))));
      } else if (momentum > 0) {
        const buf = this.slots.get(`${name}/momentum`)!;
        buf.assign(tf.add(tf.mul(buf, k(momentum)), g));
        const step = nesterov ? tf.add(g, tf.mul(buf, k(momentum))) : buf;
        w.assign(tf.sub(w, tf.mul(step, k(lr))));
      } else {
        w.assign(tf.sub(w, tf.mul(g, k(lr))));
      }
      if (mask) w.assign(tf.mul(w, mask));
      this.clamp(name, w);
    }
  }

  private clamp(name: string, w: tf.Variable): void {
    const bound = this.bounds.get(name);
    if (bound) w.assign(tf.clipByValue(w, bound[0], bound[1]));
  }

  async state(): Promise<OptimizerState> {
    const slots = new Map<string, Float32Array>();
    for (const [name, v] of this.slots) slots.set(name, (await v.data()) as Float32Array);
    return { step: this.step, slots };
  }

  load(state: OptimizerState): void {
    this.step = state.step;
    for (const [name, v] of this.slots) {
      const values = state.slots.get(name);
      if (!values) throw new Error(`optimizer checkpoint has no slot ${name}`);
      tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
    }
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
  }
}
