import {mkdirSync} from 'node:fs';
import {writeJsonAtomic} from '../io/atomic.js';
import {readTrainingLog, writeTrainingRows} from '../io/tables.js';
import {writeCheckpoint} from '../model/checkpoint.js';
import {planModel} from '../model/plan.js';
import {historyMetrics} from '../metrics/registry.js';
import {seededRows} from '../metrics/subsample.js';
import {readDataset} from '../run/dataset.js';
import {TRAIN_WASM_SHA256} from '../native/train.js';
import {writeActivationSnapshot} from '../run/snapshots.js';
import {PredictionRecorder} from '../run/predictions.js';
import type {TrainHooks} from '../train/engine.js';
import {fusedThreads} from '../train/fused/engine.js';
import {snapshotEpochs} from '../train/schedule.js';
import {selectEngine} from '../train/select-engine.js';
import {readTrainState, stateRecord, type TrainState} from '../train/state.js';
import {readCheckpointState} from '../model/checkpoint.js';
import {StageError} from '../util/errors.js';
import {stepFlops} from '../model/flops.js';
import type {TrainingRow} from '../types.js';
import type {Stage} from './types.js';

/**
 * `train`: trains the configured network and writes, at every snapshot epoch, all layers'
 * activations on every evaluation row (Arrow), the parameters (checkpoint), and the training
 * log (loss/accuracy every epoch, gradient statistics at snapshot epochs). Each checkpoint also
 * holds the training state (optimizer slots, step, minibatch-order generator), and the log is
 * rewritten after each snapshot, so that `ctx.resumeFrom` continues from any snapshot epoch - on
 * either engine - and gives the same files, byte for byte, as a run that was never stopped.
 */
export const trainStage: Stage = {
  name: 'train',
  description: 'train the network, snapshot activations, weights and gradient statistics',
  async run(ctx) {
    const {config, paths} = ctx;
    const cfg = config.train;
    const data = readDataset(paths);
    const plan = planModel(config.model, data.inputShape, data.classes);
    writeJsonAtomic(paths.model, plan);
    const snapshots = snapshotEpochs(cfg.snapshots, cfg.epochs);
    // the engine (src/train/select-engine.ts); the fused engine needs no tensor backend, so tfjs is
    // loaded only for the others (or when --backend auto might pick a native TensorFlow or a GPU)
    const flopsPerStep = stepFlops(plan.layers, Math.min(cfg.batchSize, data.trainIdx.length));
    const selected = await selectEngine(engineChoice(cfg.engine ?? 'auto', ctx.resumeFrom === undefined ? undefined : paths.checkpoint(ctx.resumeFrom)), plan, ctx.backendChoice, () => ctx.backend({flopsPerStep}), flopsPerStep);
    const {engine} = selected;
    const fused = engine.name === 'fused';
    const backend = fused ? null : selected.backend!.backend;
    const adapter = fused ? undefined : selected.backend!.adapter;
    const threads = fused ? fusedThreads(plan, cfg, data.n) : undefined;
    mkdirSync(paths.activationsDir, {recursive: true});
    mkdirSync(paths.checkpointsDir, {recursive: true});

    const meta: Record<string, string> = {run_id: ctx.runId, config_sha256: ctx.configHash, engine: engine.name, engine_id: engine.id, dataset: data.info.name};
    if (backend) meta.backend = backend;
    if (adapter) meta.adapter = JSON.stringify(adapter);
    // per-epoch predictions of the training rows, kept only when a training-history metric is configured
    const history = config.metrics.estimators.find((e) => historyMetrics.has(e.name));
    const recorder = history ? new PredictionRecorder(seededRows(data.trainIdx.length, history.maxRows, config.seed, `${history.name}/rows`)?.map((i) => data.trainIdx[i]) ?? data.trainIdx, data.labels, data.classes) : undefined;
    const predictionsMeta = () => ({...meta, rows: `${history!.name}: ${recorder!.rows.length} training rows${history!.maxRows ? ` (seeded subset, maxRows ${history!.maxRows})` : ''}`});
    let rows: TrainingRow[] = [];
    let lastStats = {trainAcc: NaN, epoch: 0};
    let firstAcc = NaN;
    const started = Date.now();
    const writeLog = (complete: boolean, through: number) =>
      writeTrainingRows(paths.training, rows, {
        ...meta,
        complete: String(complete),
        epochs: String(cfg.epochs),
        through_epoch: String(through),
        gradients: 'raw cross-entropy gradients of each minibatch at its pre-step weights',
      });

    let start: TrainState | undefined;
    if (ctx.resumeFrom !== undefined) {
      const e = ctx.resumeFrom;
      start = readTrainState(paths.checkpoint(e), plan, cfg) ?? undefined;
      const log = readTrainingLog(paths.training);
      if (!start || log === null || log.through < e) throw new StageError('train', `cannot continue from epoch ${e}: ${paths.checkpoint(e)} or ${paths.training} is not usable; start a new run`);
      // the log up to the resume point; epoch e is evaluated again
      rows = log.rows.filter((r) => r.epoch < e);
      firstAcc = rows.find((r) => r.epoch === 0 && r.quantity === 'train_acc')?.value ?? NaN;
      // and the predictions of the epochs before it
      if (recorder && !recorder.restore(paths.predictions, e)) throw new StageError('train', `cannot continue from epoch ${e}: ${paths.predictions} does not hold the predictions of epochs 1..${e - 1}; start a new run`);
    }

    try {
      const hooks: TrainHooks = {
        signal: ctx.signal,
        onEval(s, logits) {
          recorder?.record(s.epoch, logits);
          for (const [q, v] of [['train_loss', s.trainLoss], ['train_acc', s.trainAcc], ['test_loss', s.testLoss], ['test_acc', s.testAcc]] as const) {
            rows.push({epoch: s.epoch, layerIndex: -1, layer: '', quantity: q, value: v});
          }
          if (s.epoch === 0) firstAcc = s.trainAcc;
          lastStats = s;
          const rate = s.epoch > 0 ? ((Date.now() - started) / s.epoch).toFixed(1) : '-';
          ctx.progress(`epoch ${s.epoch}/${cfg.epochs}  loss ${s.trainLoss.toFixed(4)}  acc ${s.trainAcc.toFixed(3)}/${s.testAcc.toFixed(3)}  ${rate} ms/epoch`);
        },
        onSnapshot(epoch, acts, theta) {
          writeActivationSnapshot(paths.activation(epoch), epoch, plan.layers, acts, {labels: data.labels, split: data.split}, meta);
        },
        onState(state) {
          // the checkpoint with its training state, then the log through this epoch: a run killed
          // after this point continues from here
          const st = stateRecord(state, cfg);
          writeCheckpoint(paths.checkpoint(state.epoch), plan, state.params, {...meta, epoch: String(state.epoch), ...st.meta}, st.rows);
          writeLog(false, state.epoch);
          if (recorder) recorder.write(paths.predictions, predictionsMeta());
        },
        onGradStats(epoch, stats) {
          for (const g of stats) {
            for (const [q, v] of [['grad_mean_norm', g.meanNorm], ['grad_std_norm', g.stdNorm], ['grad_snr', g.snr], ['weight_norm', g.weightNorm]] as const) {
              rows.push({epoch, layerIndex: g.layerIndex, layer: g.layer, quantity: q, value: v});
            }
          }
        },
      };
      await engine.train(plan, data, cfg, config.seed, snapshots, hooks, start);
    } catch (err) {
      writeLog(false, lastStats.epoch); // keep the log up to the failure
      throw err;
    }
    writeLog(true, cfg.epochs);
    if (recorder) recorder.write(paths.predictions, predictionsMeta());
    const chance = Math.max(firstAcc, 0.55);
    if (lastStats.trainAcc <= chance + 0.02) {
      ctx.note(`train accuracy stayed at chance (${lastStats.trainAcc.toFixed(3)} after ${cfg.epochs} epochs): check for dead layers (act.stats) or change the seed/initialisation`);
    }
    return {
      outputs: ['model.json', 'training.arrow', 'activations/', 'checkpoints/', ...(recorder ? ['dynamics/predictions.arrow'] : [])],
      info: {
        engine: engine.name,
        ...(fused ? {engineKernels: `wasm-simd128-threads sha256 ${TRAIN_WASM_SHA256}`, threads} : {backend}),
        ...(selected.reason ? {engineReason: selected.reason} : {}),
        snapshots: snapshots.length,
        finalTrainAcc: lastStats.trainAcc,
        msPerEpoch: (Date.now() - started) / (cfg.epochs - (start?.epoch ?? 0) || 1),
      },
      ...(start ? {resumedFromEpoch: start.epoch} : {}),
    };
  },
};

/**
 * `auto` for a training that continues from `checkpoint`: the engine that wrote it (the engines
 * round differently, so a resumed run stays on its engine); a checkpoint that names none leaves
 * `auto` as it is.
 */
function engineChoice(choice: 'auto' | 'fused' | 'tfjs', checkpoint: string | undefined): 'auto' | 'fused' | 'tfjs' {
  if (choice !== 'auto' || checkpoint === undefined) return choice;
  let recorded: string | undefined;
  try {
    recorded = readCheckpointState(checkpoint).meta.engine;
  } catch {
    return choice; // an unreadable checkpoint is reported where the state is read
  }
  return recorded === 'fused' ? 'fused' : recorded === 'tfjs' || recorded === 'webgpu' ? 'tfjs' : choice;
}
