/**
 * The reproduction campaign (BENCHMARKS.md "Paper findings"): each part is one paper's
 * setting, run as one experiment per seed through the app's own scheduler by
 * `npm run bench:campaign`, and tabulated by `npm run bench:report`. A part says what the
 * paper ran (its budget) so that every table states the budget used against it.
 */
import type { ModelName, ScoringStatistics } from '../../src/core/vocabulary.ts';

/**
 * How a part's records are tabulated: `imp` levels against controls, `scores` one column per
 * score, `structured` the architecture, size, accuracy and speed-up each surgery left,
 * `transfer` each transferred ticket against a random ticket and the target's own ticket.
 */
export type TableKind = 'imp' | 'scores' | 'structured' | 'transfer';

export interface PartExperiment {
  /** what the experiment is within its part (one per seed): `imp`, a score's name, a model */
  label: string;
  spec: Record<string, unknown>;
}

/**
 * Changes to a part's budget, for smaller runs (each recorded in the spec it changes, or, for
 * `labels`, in which records exist).
 */
export interface Budget {
  iterations?: number;
  levels?: number;
  /** a pruning-at-initialisation part's compressions, log10 (the spec's default grid otherwise) */
  compressions?: number[];
  /** the part's experiments that run, by label (all otherwise) */
  labels?: string[];
}

export interface CampaignPart {
  name: string;
  title: string;
  /** the paper's setting, in one sentence */
  setting: string;
  /** the paper's budget, in words (for the "budget used against the paper's" line) */
  paperBudget: string;
  /**
   * ../shared/datasets folders tried in order; the first present is used. A transfer part
   * uses every one (each is a source and a target), and needs them all.
   */
  datasets: string[];
  seeds: number;
  table: TableKind;
  /** the label the others are compared with, level by level (a `structured` table) */
  reference?: string;
  experiments(seed: number, dataset: string, budget: Budget): PartExperiment[];
  /**
   * A transfer part's second stage (Morcos et al. 2019): once an experiment on one dataset
   * has its tickets, those at these levels (given the levels it ran) are trained on each of
   * the part's other datasets, beside a random ticket of the same layer-wise sparsity.
   */
  transferLevels?: (levels: number) => number[];
  /**
   * Instability analyses (Frankle et al. 2020) of each experiment's tickets once it is done:
   * the IMP levels analysed (given the levels it ran; level 0 is the dense network), the
   * rewind points k in iterations (given the iterations it trained and the point its IMP
   * rewinds to), and the points on each line between the two copies.
   */
  instability?: {
    levels: (levels: number) => number[];
    rewinds: (iterations: number, rewind: number) => number[];
    points: number;
  };
}

const duration = (paper: string, budget: Budget) =>
  budget.iterations === undefined ? paper : `${budget.iterations}it`;

/**
 * OpenLTH's CIFAR training (the openlth preset's 160 epochs, ×0.1 at epochs 80 and 120) under
 * a budget: a shorter training drops the learning rate at the same shares of it, 50% and 75%,
 * where the preset's epochs would fall after its end.
 */
const openlthCifarTraining = (budget: Budget) =>
  budget.iterations === undefined
    ? { duration: '160ep', evalEvery: 1000 }
    : { duration: duration('160ep', budget), milestones: ['50%', '75%'], evalEvery: 1000 };

/**
 * Frankle et al. 2020's ResNet-20 training in iterations (160 epochs of 50,000 images at batch
 * 128) and its rewind point, 2,000 iterations (3.2% of it); a shorter budget rewinds to the
 * same share of its own training, at least 1 iteration.
 */
const RESNET_2020_ITERATIONS = 62_500;
const resnet2020Rewind = (budget: Budget) =>
  budget.iterations === undefined
    ? '2000it'
    : `${Math.max(1, Math.round((2000 * budget.iterations) / RESNET_2020_ITERATIONS))}it`;

/** Frankle et al. 2020's LeNet-300-100 training, and its rewind points k > 0 (our choice), in iterations. */
const LENET_2020_ITERATIONS = 24000;
const LENET_2020_REWINDS = [100, 500, 2000];
/** A rewind point of that training, scaled to a training of `iterations`. */
const lenet2020Rewind = (k: number, iterations: number) =>
  Math.round((k * iterations) / LENET_2020_ITERATIONS);

/** Frankle & Carbin 2019's IMP with reset to θ0, with both controls, for one model. */
function impExperiment(
  model: ModelName,
  seed: number,
  dataset: string,
  budget: Budget,
  paper: { duration: string; levels: number; evalEvery: number },
): PartExperiment {
  return {
    label: model,
    spec: {
      model,
      preset: 'frankle-carbin-2019',
      dataset,
      seed,
      training: { duration: duration(paper.duration, budget), evalEvery: paper.evalEvery },
      pruning: { levels: budget.levels ?? paper.levels },
      controls: { randomReinit: true, randomPrune: true },
    },
  };
}

/**
 * LeNet-300-100 with Frankle & Carbin's recipe, pruned by 20% of the remaining weights a level
 * under one global threshold for 15 levels (3.5%), as Frankle et al. 2020 and Morcos et al.
 * 2019 prune; reset to θ0 unless `rewind` says otherwise; with both random controls at the
 * last level where `controlsAtLastLevel`.
 */
function globalLenetImp(
  label: string,
  seed: number,
  dataset: string,
  budget: Budget,
  paper: { duration: string; rewind?: string; controlsAtLastLevel?: boolean },
): PartExperiment {
  const levels = budget.levels ?? 15;
  return {
    label,
    spec: {
      model: 'lenet-300-100',
      preset: 'frankle-carbin-2019',
      dataset,
      seed,
      training: { duration: duration(paper.duration, budget), evalEvery: 500 },
      pruning: {
        scope: 'global',
        globalRate: 0.2,
        levels,
        ...(paper.rewind ? { rewind: paper.rewind } : {}),
      },
      ...(paper.controlsAtLastLevel
        ? { controls: { randomReinit: true, randomPrune: true, levels: [levels] } }
        : {}),
    },
  };
}

const SCORES = ['synflow', 'snip', 'grasp', 'magnitude', 'random'] as const;

/** Pruning at initialisation by each score, then trained with the preset's recipe. */
function scoreExperiments(
  model: ModelName,
  preset: 'frankle-carbin-2019' | 'openlth',
  seed: number,
  dataset: string,
  training: { duration: string; evalEvery: number; milestones?: string[] },
  budget: Budget,
  pai: { batchNormStatistics?: ScoringStatistics } = {},
): PartExperiment[] {
  const compressions = budget.compressions ? { compressions: budget.compressions } : {};
  return SCORES.map((score) => ({
    label: score,
    spec: {
      model,
      preset,
      dataset,
      seed,
      method: 'pai',
      pai: { score, ...compressions, ...pai },
      training,
    },
  }));
}

/**
 * Network slimming (Liu et al. 2017) on VGG-16 with You et al. 2020's recipe (the
 * early-bird-2020 preset); the retraining of each compacted model is as long as the search.
 */
function slimmingExperiment(
  label: string,
  seed: number,
  dataset: string,
  budget: Budget,
  setting: { rates: number[]; earlyBird: boolean; batchSize: number },
): PartExperiment {
  const epochs = duration('160ep', budget);
  return {
    label,
    spec: {
      model: 'vgg-16',
      preset: 'early-bird-2020',
      dataset,
      seed,
      training: { duration: epochs, batchSize: setting.batchSize, evalEvery: 1000 },
      structured: {
        method: 'slimming',
        rates: setting.rates,
        fineTune: epochs,
        earlyBird: { enabled: setting.earlyBird },
      },
    },
  };
}

/** Louizos et al.'s gated training on a LeNet (Adam 1e-3, batch 100, 200 epochs). */
function gatedExperiment(
  model: ModelName,
  structured: Record<string, unknown>,
  seed: number,
  dataset: string,
  budget: Budget,
): PartExperiment {
  return {
    label: String(structured.method),
    spec: {
      model,
      dataset,
      seed,
      validationFraction: 5000 / 60000,
      training: {
        optimizer: 'adam',
        learningRate: 1e-3,
        batchSize: 100,
        duration: duration('200ep', budget),
        evalEvery: 1000,
      },
      structured: {
        ...structured,
        // the app's 2 epochs of retraining, except under a budget of fewer than 1,100
        // iterations (2 epochs of the full MNIST split), where it is the budget's length, so
        // that a test-sized run stays small
        ...(budget.iterations !== undefined && budget.iterations < 1100
          ? { fineTune: `${budget.iterations}it` }
          : {}),
      },
      method: 'structured',
    },
  };
}

export const PARTS: CampaignPart[] = [
  {
    name: 'fc2019-lenet',
    title: 'Frankle & Carbin 2019: IMP on LeNet-300-100, MNIST',
    setting:
      'LeNet-300-100, Adam 1.2e-3, batch 60, 50,000 iterations, Glorot normal, 55,000/5,000/10,000 split; each round prunes 20% of the hidden layers and 10% of the output layer, resets the survivors to θ0, and is compared with a random re-initialisation and a random mask of the same layer-wise sparsity (Figures 3 and 4).',
    paperBudget: '50,000 iterations per training, to 1.9% remaining, 5 trials',
    datasets: ['mnist', 'mnist-10k'],
    seeds: 5,
    table: 'imp',
    experiments: (seed, dataset, budget) => [
      // 18 rounds: 0.8^18 of the hidden and 0.9^18 of the output weights, 1.85% in all
      impExperiment('lenet-300-100', seed, dataset, budget, {
        duration: '50000it',
        levels: 18,
        evalEvery: 100,
      }),
    ],
  },
  {
    name: 'fc2019-conv',
    title: 'Frankle & Carbin 2019: IMP on Conv-2/4/6, CIFAR-10',
    setting:
      'Conv-2/4/6 (VGG-like, Figure 2), Adam 2e-4 / 3e-4 / 3e-4, batch 60, 20,000 / 25,000 / 30,000 iterations, Glorot normal; each round prunes 10% / 10% / 15% of the convolutions, 20% of the dense layers and 10% of the output layer, resets to θ0, against both controls (Figure 5).',
    paperBudget: 'CIFAR-10 (50,000 training images), to about 2–9% remaining, 5 trials',
    // the largest CIFAR-10 set there: 10,000 training images (decoded from JPEG)
    datasets: ['cifar10-jpeg', 'cifar10'],
    seeds: 3,
    table: 'imp',
    experiments: (seed, dataset, budget) =>
      (
        [
          ['conv-2', '20000it'],
          ['conv-4', '25000it'],
          ['conv-6', '30000it'],
        ] as const
      ).map(([model, paper]) =>
        impExperiment(model, seed, dataset, budget, {
          duration: paper,
          levels: 15,
          evalEvery: 500,
        }),
      ),
  },
  {
    name: 'frankle2020-lenet',
    title:
      'Frankle et al. 2020: instability of LeNet-300-100, its IMP ticket and the random controls, MNIST',
    setting:
      'LeNet-300-100 for 24,000 iterations (≈ 26 epochs of 55,000 images at batch 60) with the frankle-carbin-2019 preset’s Adam 1.2e-3, batch 60 and Glorot normal (the paper’s Table 1 lists Adam 1.2e-3 and batch 60 for LeNet, as cited here; not re-checked against the PDF); IMP prunes 20% of the remaining weights per level under one global threshold (the output layer included, as the preset prunes it; OpenLTH leaves it unpruned) and resets the survivors to θ0, 15 levels to 3.5%. At level 15 the ticket is trained beside its two controls: random re-initialisation (its mask, fresh Glorot weights) and random pruning (a random mask of the same per-layer sparsity, from θ0). The dense network, the level-15 ticket and its random pruning are each analysed at k = 0, 100, 500 and 2,000 iterations (our choice of points), the random re-initialisation at k = 0 (a fresh network has no θ_k): two copies trained from θ_k with different batch orders to the end, the test error at 30 points on the line between them, the barrier its highest point above the mean of its ends. For k > 0 the ticket keeps the mask IMP found with reset to θ0 and starts from the dense network’s θ_k (the paper finds a mask for each k by IMP rewound to k), so only its k = 0 is the paper’s setting (frankle2020-lenet-rewinding runs the paper’s for k > 0). The paper: LeNet is stable (barrier ≈ 0, under 2 points here) at k = 0, dense and as an IMP ticket at 3.5%, and that ticket matches the dense accuracy when reset to θ0; the random controls at that sparsity are neither matching nor, as cited here (their barriers not re-checked against the PDF), stable.',
    paperBudget: '24,000 iterations per training, 3.5% remaining, 30 points per line, 3+ trials',
    datasets: ['mnist', 'mnist-10k'],
    seeds: 5,
    table: 'imp',
    experiments: (seed, dataset, budget) => [
      globalLenetImp('lenet-300-100', seed, dataset, budget, {
        duration: `${LENET_2020_ITERATIONS}it`,
        controlsAtLastLevel: true,
      }),
    ],
    instability: {
      levels: (levels) => [...new Set([0, levels])],
      // the points at 24,000 iterations, scaled to the budget's length
      rewinds: (iterations) =>
        [...new Set([0, ...LENET_2020_REWINDS].map((k) => lenet2020Rewind(k, iterations)))].filter(
          (k) => k < iterations,
        ),
      points: 30,
    },
  },
  {
    name: 'frankle2020-lenet-rewinding',
    title:
      'Frankle et al. 2020: IMP rewound to iteration k on LeNet-300-100, each ticket analysed at its own k, MNIST',
    setting:
      'The paper’s setting for k > 0, which the part frankle2020-lenet only approximates: IMP as there (LeNet-300-100, 24,000 iterations, Adam 1.2e-3, batch 60, 20% of the remaining weights per level under one global threshold, 15 levels to 3.5%), but each level’s survivors are rewound to the weights after k iterations instead of θ0, for k = 100, 500 and 2,000 (the other part’s points; scaled to a shorter budget), and the level-15 ticket is analysed at its own k: two copies trained from its stored θ_k with different batch orders to the end, 30 points on the line between them. No controls (the other part trains them at k = 0). The paper: LeNet is stable from k = 0, so rewinding makes no difference there; tickets rewound to any k match the dense network.',
    paperBudget: '24,000 iterations per training, 3.5% remaining, 30 points per line, 3+ trials',
    datasets: ['mnist', 'mnist-10k'],
    seeds: 5,
    table: 'imp',
    experiments: (seed, dataset, budget) =>
      LENET_2020_REWINDS.map((k) => {
        const at =
          budget.iterations === undefined ? k : Math.max(1, lenet2020Rewind(k, budget.iterations));
        return globalLenetImp(`rewind-${k}it`, seed, dataset, budget, {
          duration: `${LENET_2020_ITERATIONS}it`,
          rewind: `${at}it`,
        });
      }),
    instability: {
      levels: (levels) => [levels],
      rewinds: (_iterations, rewind) => [rewind],
      points: 30,
    },
  },
  {
    name: 'tanaka2020-lenet',
    title: 'Tanaka et al. 2020: pruning at initialisation on LeNet-300-100, MNIST',
    setting:
      'SynFlow (100 rounds, data-free), SNIP and GraSP (10 examples per class), magnitude and random scores, one global threshold, at compression 10^0.5 … 10^3, then trained with Frankle & Carbin’s LeNet-300-100 recipe (the paper’s own models are VGG and ResNet on CIFAR and Tiny ImageNet: this part checks the ordering on a small model).',
    paperBudget:
      'not in the paper (its models are VGG-11/16 and ResNet-18/20); 50,000 iterations as Frankle & Carbin',
    datasets: ['mnist', 'mnist-10k'],
    seeds: 5,
    table: 'scores',
    experiments: (seed, dataset, budget) =>
      scoreExperiments(
        'lenet-300-100',
        'frankle-carbin-2019',
        seed,
        dataset,
        { duration: duration('50000it', budget), evalEvery: 500 },
        budget,
      ),
  },
  {
    name: 'tanaka2020-conv4',
    title: 'Pruning at initialisation on Conv-4, CIFAR-10 (no batch norm)',
    setting:
      'The same five scores on Conv-4 trained with Frankle & Carbin’s Conv-4 recipe (Adam 3e-4, batch 60, 25,000 iterations, Glorot normal). A network without batch norm: where GraSP fails here (it keeps mostly positive convolution weights, and the masked θ0 starts at a loss in the thousands: `npm run bench:grasp`), the batch-norm part says whether it is the missing normalisation.',
    paperBudget:
      'Tanaka et al. run VGG-11/16 and ResNet-18/20 with batch norm, 160 epochs; Conv-4 is not in the paper',
    datasets: ['cifar10-jpeg', 'cifar10'],
    seeds: 3,
    table: 'scores',
    experiments: (seed, dataset, budget) =>
      scoreExperiments(
        'conv-4',
        'frankle-carbin-2019',
        seed,
        dataset,
        { duration: duration('25000it', budget), evalEvery: 500 },
        budget,
      ),
  },
  {
    name: 'frankle2020-resnet20',
    title: 'Frankle et al. 2020: IMP on ResNet-20, CIFAR-10, reset to θ0 against rewinding',
    setting:
      'ResNet-20 with OpenLTH’s recipe (SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, 160 epochs, ×0.1 at 80 and 120, random crops and flips), 20% of the remaining weights pruned per level globally, output layer kept; survivors reset to θ0 or rewound to θ at 2,000 iterations (3.2% of the paper’s 62,500, where the dense network becomes stable to SGD noise; 160 epochs of cifar10-jpeg’s training split are 11,200 iterations, so it falls at 18% of ours), against random re-initialisation. Instability analyses at each experiment’s own k (0 or 2,000): the dense network and the last level’s ticket, two copies trained from θ_k with different batch orders to the end, the test error at 30 points on the line between them (the random re-initialisation at k = 0 only). The paper: the dense network is unstable at k = 0 and stable (barrier ≈ 0) by k = 2,000; the ticket reset to θ0 is unstable and below the dense accuracy, the ticket rewound to 2,000 stable and matching it.',
    paperBudget:
      'CIFAR-10 (50,000 training images), 160 epochs per training, to about 1% remaining, 3+ trials',
    datasets: ['cifar10-jpeg', 'cifar10'],
    seeds: 3,
    table: 'imp',
    experiments: (seed, dataset, budget) =>
      ['0it', resnet2020Rewind(budget)].map((rewind) => ({
        // the paper's point, as frankle2020-lenet-rewinding's labels (the spec has the budget's)
        label: rewind === '0it' ? 'rewind-0it' : 'rewind-2000it',
        spec: {
          model: 'resnet-20',
          preset: 'openlth',
          dataset,
          seed,
          training: openlthCifarTraining(budget),
          pruning: { levels: budget.levels ?? 16, rewind },
          controls: { randomReinit: true },
        },
      })),
    instability: {
      levels: (levels) => [0, levels],
      rewinds: (_iterations, rewind) => [rewind],
      points: 30,
    },
  },
  {
    name: 'tanaka2020-vgg16',
    title: 'Tanaka et al. 2020: pruning at initialisation on VGG-16 (batch norm), CIFAR-10',
    setting:
      'VGG-16 with batch norm trained with OpenLTH’s CIFAR recipe after pruning at initialisation by SynFlow (100 rounds), SNIP, GraSP, magnitude and random at compression 10^0.5 … 10^3 (the paper: SynFlow 93.3 / 90.1 / 80.4% at 10× / 100× / 1000× against SNIP’s 92.3 / 89.1 / 76.3%). SNIP and GraSP score 100 training images once, with batch norm on its running statistics (evaluation mode, the default of the paper’s code: the identity at θ0); GraSP’s Hessian-gradient product runs in 4 chunks of 25, which the running statistics make equal to the one batch of 100 the paper’s code takes and the WebAssembly heap cannot hold.',
    paperBudget: 'CIFAR-10 (50,000 training images), 160 epochs per training, 3 trials',
    datasets: ['cifar10-jpeg', 'cifar10'],
    seeds: 3,
    table: 'scores',
    experiments: (seed, dataset, budget) =>
      scoreExperiments('vgg-16', 'openlth', seed, dataset, openlthCifarTraining(budget), budget, {
        batchNormStatistics: 'running',
      }),
  },
  {
    name: 'tanaka2020-resnet20',
    title: 'Tanaka et al. 2020: pruning at initialisation on ResNet-20 (batch norm), CIFAR-10',
    setting:
      'The scores of part tanaka2020-vgg16, set as there (SNIP and GraSP on the running statistics, the identity at θ0), on ResNet-20 with OpenLTH’s CIFAR recipe (SGD 0.1, momentum 0.9, weight decay 1e-4, batch 128, 160 epochs, ×0.1 at 80 and 120, random crops and flips): a batch-norm network 8× cheaper per example than VGG-16, so that its masks can be trained here. Against part tanaka2020-conv4 (the same scores without batch norm), it says whether batch norm is what GraSP’s masks miss; `grasp-batch-statistics` is GraSP scored as Wang et al.’s own code scores it, in training mode, batch norm on the scoring sample’s statistics.',
    paperBudget:
      'Tanaka et al. run ResNet-18, not ResNet-20 (SynFlow 94.1 / 90.4 / 79.9% at 10× / 100× / 1000× against SNIP’s 94.3 / 90.8 / 78.6%), on CIFAR-10 (50,000 training images), 160 epochs, 3 trials',
    datasets: ['cifar10-jpeg', 'cifar10'],
    seeds: 3,
    table: 'scores',
    experiments: (seed, dataset, budget) => {
      const scores = scoreExperiments(
        'resnet-20',
        'openlth',
        seed,
        dataset,
        openlthCifarTraining(budget),
        budget,
        { batchNormStatistics: 'running' },
      );
      const grasp = scores.find((e) => e.label === 'grasp')!.spec;
      const pai = { ...(grasp.pai as object), batchNormStatistics: 'batch' };
      return [...scores, { label: 'grasp-batch-statistics', spec: { ...grasp, pai } }];
    },
  },
  {
    name: 'you2020-earlybird',
    title: 'You et al. 2020: Early-Bird tickets on VGG-16, CIFAR-10',
    setting:
      'VGG-16 with batch norm, network slimming (λ = 1e-4 on |γ|) trained by SGD 0.1, momentum 0.9, weight decay 1e-4, batch 256, 160 epochs, ×0.1 at 50% and 75%, crops and flips; channel masks at pruning ratios 30/50/70% by one global threshold on |γ| each epoch; the Early-Bird ticket is drawn when the newest mask is within 0.1 (normalised Hamming distance) of the 4 before it, then pruned and retrained; against the ticket pruned from the fully trained network (the same search with early stopping off). "EB epoch": where the ticket was drawn; "distance": between the drawn mask and the mask pruned (for the full-training ticket, the last epoch’s).',
    paperBudget:
      'CIFAR-10 (50,000 training images), 160 epochs of search and 160 of retraining, tickets drawn within the first 10–20% of epochs',
    datasets: ['cifar10-jpeg', 'cifar10'],
    seeds: 3,
    table: 'structured',
    reference: 'full-training',
    experiments: (seed, dataset, budget) =>
      (
        [
          ['early-bird', true],
          ['full-training', false],
        ] as const
      ).map(([label, earlyBird]) =>
        slimmingExperiment(label, seed, dataset, budget, {
          rates: [0.3, 0.5, 0.7],
          earlyBird,
          batchSize: 256,
        }),
      ),
  },
  {
    name: 'liu2017-slimming',
    title: 'Liu et al. 2017: network slimming on VGG-16, CIFAR-10, 50% and 70% of channels',
    setting:
      'Network slimming: λ = 1e-4 on the batch-norm scale factors |γ|, SGD 0.1, momentum 0.9, weight decay 1e-4, batch 64, 160 epochs, ×0.1 at 50% and 75%; 50% and 70% of the channels removed by one global threshold on |γ| after full training, the compacted model retrained for 160 epochs (the paper’s model is VGG-19: 70% pruned, 93.80% against 93.66% dense, 8.7× fewer parameters).',
    paperBudget:
      'CIFAR-10 (50,000 training images), VGG-19, 160 epochs of training and 160 of fine-tuning',
    datasets: ['cifar10-jpeg', 'cifar10'],
    seeds: 3,
    table: 'structured',
    experiments: (seed, dataset, budget) => [
      slimmingExperiment('slimming', seed, dataset, budget, {
        rates: [0.5, 0.7],
        earlyBird: false,
        batchSize: 64,
      }),
    ],
  },
  {
    name: 'louizos2018-l0',
    title: 'Louizos et al. 2018: L0 gates on LeNet-300-100, MNIST',
    setting:
      'Hard-concrete gates on the input neurons of each dense layer (γ = −0.1, ζ = 1.1, β = 2/3), λ = 0.1 per weight a gate controls, divided by the training-set size; Adam 1e-3, batch 100, 200 epochs; gates closed at test time are cut out, and the compacted model is fine-tuned for 2 epochs (the app’s default; the paper reports the gated network as trained). The paper keeps 219-214-100 of the 784-300-100 input neurons at 1.4% error (the table lists the input pixels kept, then each layer’s output units: 219-214-100-10).',
    // The paper's Table 1 reports each network's test error "after 200 epochs".
    paperBudget: 'MNIST (60,000 training images), 200 epochs',
    datasets: ['mnist', 'mnist-10k'],
    seeds: 5,
    table: 'structured',
    experiments: (seed, dataset, budget) => [
      gatedExperiment('lenet-300-100', { method: 'l0', l0Lambda: 0.1 }, seed, dataset, budget),
    ],
  },
  {
    name: 'louizos2017-bc',
    title: 'Louizos et al. 2017: Bayesian compression on LeNet-5, MNIST',
    setting:
      'Group multiplicative noise on the filters and neurons of LeNet-5 with a sparsity-inducing prior, trained variationally (Adam 1e-3, batch 100, 200 epochs); a group is removed when log α = log σ²/μ² exceeds a threshold, one level each from the same trained network: 3 (the threshold Molchanov et al. use for single weights), 0, and −3 (the authors’ code keeps a unit while log α is below −2.8 to −5, per layer, in its LeNet-300-100 example); each compacted model is fine-tuned for 2 epochs (the app’s default). The paper: LeNet-5 → 8-13-88-13 (group normal-Jeffreys: conv1 and conv2 filters, then fc1’s inputs and units) and 5-10-76-16 (group horseshoe) at about 1.0% error. Our gates sit on fc1’s 500 units, not on its 800 inputs, so fc1 keeps 16 inputs per conv2 filter kept.',
    paperBudget:
      'MNIST (60,000 training images), 200 epochs at batch 100 (not from the paper, whose LeNet-5 budget we could not read: the first author’s L0 code trains LeNet-5 so, AMLab-Amsterdam/L0_regularization train_lenet5.py)',
    datasets: ['mnist', 'mnist-10k'],
    seeds: 5,
    table: 'structured',
    experiments: (seed, dataset, budget) => [
      gatedExperiment(
        'lenet-5',
        { method: 'bayesian', logAlphaThresholds: [3, 0, -3] },
        seed,
        dataset,
        budget,
      ),
    ],
  },
  {
    name: 'morcos2019-transfer',
    title: 'Morcos et al. 2019: ticket transfer between MNIST and Fashion-MNIST, LeNet-300-100',
    setting:
      'IMP tickets of LeNet-300-100 found on one dataset with Frankle & Carbin’s recipe (Adam 1.2e-3, batch 60, Glorot normal, 55,000/5,000 split) and Morcos et al.’s pruning: 20% of the remaining weights per level under one global threshold, survivors reset to their values after 1 epoch (late resetting) rather than θ0. The tickets at levels 5, 10 and 15 (32.8%, 10.7% and 3.5% of the weights) are trained on the other dataset (mask and late-reset weights; the same recipe) against a random ticket (a random mask of the same layer-wise sparsity, freshly initialised) and against the IMP ticket found on that dataset itself at the same level. The paper: tickets transfer among natural-image datasets, often close to the target’s own tickets and above random ones, and tickets from larger datasets transfer better.',
    // The paper's own models and datasets are far beyond two cores. Here, at 20,000
    // iterations (Frankle & Carbin train LeNet for 50,000), 5 seeds run 2 × 16 IMP trainings
    // and 2 × 3 × 2 transfer trainings each: 4.4 million iterations, estimated at 37–73 min
    // of training on two cores at 500–1,000 iterations/s each, one `--hours 2.5` slice.
    paperBudget:
      'VGG-19 and ResNet-50 on CIFAR-10/100, SVHN, Fashion-MNIST, ImageNet and Places365 (no LeNet, no MNIST), each with its dataset’s usual training, pruned iteratively by 20% a round under one global threshold with late resetting at epoch 1 (not from the paper’s text, which we could not read: an independent replication, varungohil/Generalizing-Lottery-Tickets for the NeurIPS 2019 reproducibility challenge, prunes so and resets to the “weights after epoch 2 (late resetting of 1)”)',
    datasets: ['mnist', 'fashion-mnist'],
    seeds: 5,
    table: 'transfer',
    experiments: (seed, dataset, budget) => [
      globalLenetImp('imp', seed, dataset, budget, { duration: '20000it', rewind: '1ep' }),
    ],
    // a third, two thirds and all of the levels: 5, 10 and 15 of 15
    transferLevels: (levels) =>
      [...new Set([levels / 3, (2 * levels) / 3, levels].map(Math.round))].filter((l) => l >= 1),
  },
];

/**
 * The experiments of one seed of a part at `budget`: those `budget.labels` names, where it
 * names any. A label the part does not have, or compressions given to a part that scores
 * none, is refused with what the part has.
 */
export function partExperiments(
  part: CampaignPart,
  seed: number,
  dataset: string,
  budget: Budget,
): PartExperiment[] {
  const all = part.experiments(seed, dataset, budget);
  if (budget.compressions && part.table !== 'scores')
    throw new Error(
      `${part.name} prunes no compressions at initialisation: --compressions is for the scores parts`,
    );
  if (!budget.labels) return all;
  const labels = all.map((e) => e.label);
  const unknown = budget.labels.filter((l) => !labels.includes(l));
  if (unknown.length > 0)
    throw new Error(
      `${part.name} has no experiment ${unknown.map((l) => `"${l}"`).join(', ')}: its experiments are ${labels.join(', ')}`,
    );
  return all.filter((e) => budget.labels!.includes(e.label));
}

export function findPart(name: string): CampaignPart {
  const part = PARTS.find((p) => p.name === name);
  if (!part)
    throw new Error(
      `unknown campaign part "${name}": the parts are ${PARTS.map((p) => p.name).join(', ')}`,
    );
  return part;
}
