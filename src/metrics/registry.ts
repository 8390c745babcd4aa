import {Registry} from '../registry.js';
import {UserError} from '../util/errors.js';
import {actStats} from './act-stats.js';
import {geomDse, geomDsmi} from './geometry/dse.js';
import {entMatrix, entMbe2, entRenyi, entVne} from './geometry/matrix-entropy.js';
import {geomAlphaReq, geomErank, geomPr, geomRankme} from './geometry/spectrum.js';
import {entKl, entWkl} from './knn/kl.js';
import {miKsg} from './knn/ksg.js';
import {ibLossy} from './knn/lossy.js';
import {miAdaptMax, miEbab} from './mi/adaptive-binning.js';
import {miBin, miBinWidth} from './mi/binning.js';
import {miAkde, miKde} from './mi/kde.js';
import type {Estimator, HistoryMetric, PairMetric} from './types.js';
import {ncCollapse} from './collapse/nc.js';
import {curvHessian} from './model/curvature.js';
import {weightsEsd} from './model/esd.js';
import {simCka} from './similarity/cka.js';
import {dynamicsExamples} from './dynamics/examples.js';
import {localRankMetric, weightFeaturesMetric, type ModelMetric, type ModelMetricContext} from './model/index.js';
import {checkFinite, checkNetFinite} from './finite.js';
import type {CheckpointModel} from '../model/checkpoint.js';
import type {Matrix} from '../types.js';

/**
 * The finite-value policy as a registry wrapper (src/metrics/finite.ts): whatever calls an
 * estimator through the registry, non-finite T or X is refused before it computes.
 */
function finiteInputs<P extends Record<string, unknown>>(est: Estimator<P>): Estimator<P> {
  return {
    ...est,
    compute(input, params) {
      checkFinite(input.T);
      if (input.x) checkFinite(input.x, 'inputs X');
      return est.compute(input, params);
    },
  };
}

/** The same for weight metrics: every weight tensor and the input points must be finite. */
function finiteNetwork<P extends Record<string, unknown>>(metric: ModelMetric<P>): ModelMetric<P> {
  return {
    ...metric,
    compute(net, X, params, seed, extra) {
      checkNetFinite(net);
      if (X) checkFinite(X, 'inputs X');
      return metric.compute(net, X, params, seed, extra);
    },
    ...(metric.computeModel
      ? {
          computeModel(model: CheckpointModel, X: Matrix | undefined, params: P, seed: number, ctx: ModelMetricContext) {
            let k = 0;
            for (const layer of model.plan.layers) {
              for (const p of layer.params) checkFinite({data: model.params[k++], cols: p.shape[p.shape.length - 1] ?? 1}, `layer ${layer.index} tensor ${layer.name}.${p.name}`);
            }
            if (X) checkFinite(X, 'inputs X');
            return metric.computeModel!(model, X, params, seed, ctx);
          },
        }
      : {}),
  };
}

/** The same for similarity metrics: both representations must be finite. */
function finitePair<P extends Record<string, unknown>>(metric: PairMetric<P>): PairMetric<P> {
  return {
    ...metric,
    compare(X, Y, params, opts) {
      checkFinite(X);
      checkFinite(Y, 'second representation');
      return metric.compare(X, Y, params, opts);
    },
  };
}

/** Every metric tdlab can compute, by name. Adding one: write its file, add one line here. */
export const estimators = new Registry<Estimator<any>>('estimator')
  .register(miBin.name, finiteInputs(miBin))
  .register(miBinWidth.name, finiteInputs(miBinWidth))
  .register(miEbab.name, finiteInputs(miEbab))
  .register(miAdaptMax.name, finiteInputs(miAdaptMax))
  .register(miKde.name, finiteInputs(miKde))
  .register(miAkde.name, finiteInputs(miAkde))
  .register(miKsg.name, finiteInputs(miKsg))
  .register(entKl.name, finiteInputs(entKl))
  .register(entWkl.name, finiteInputs(entWkl))
  .register(ibLossy.name, finiteInputs(ibLossy))
  .register(geomDse.name, finiteInputs(geomDse))
  .register(geomDsmi.name, finiteInputs(geomDsmi))
  .register(entRenyi.name, finiteInputs(entRenyi))
  .register(entMatrix.name, finiteInputs(entMatrix))
  .register(entVne.name, finiteInputs(entVne))
  .register(entMbe2.name, finiteInputs(entMbe2))
  .register(geomErank.name, finiteInputs(geomErank))
  .register(geomRankme.name, finiteInputs(geomRankme))
  .register(geomAlphaReq.name, finiteInputs(geomAlphaReq))
  .register(geomPr.name, finiteInputs(geomPr))
  .register(actStats.name, finiteInputs(actStats))
  .register(ncCollapse.name, finiteInputs(ncCollapse));

/** Metrics of a snapshot's weights (checkpoint) instead of its activations. */
export const modelMetrics = new Registry<ModelMetric<any>>('weight metric')
  .register(localRankMetric.name, finiteNetwork(localRankMetric))
  .register(weightFeaturesMetric.name, finiteNetwork(weightFeaturesMetric))
  .register(weightsEsd.name, finiteNetwork(weightsEsd))
  .register(curvHessian.name, finiteNetwork(curvHessian));

/** Similarities of two representations of the same rows (across layers, epochs or models). */
export const pairMetrics = new Registry<PairMetric<any>>('similarity metric')
  .register(simCka.name, finitePair(simCka));

/** Metrics of the training history of every training row (the train stage records per-epoch predictions for them). */
export const historyMetrics = new Registry<HistoryMetric<any>>('training-history metric')
  .register(dynamicsExamples.name, dynamicsExamples);

/** Any metric by name: config entries and `--metric` may name an estimator, a weight, similarity or history metric. */
export function anyMetric(name: string, where = ''): Estimator<any> | ModelMetric<any> | PairMetric<any> | HistoryMetric<any> {
  if (modelMetrics.has(name)) return modelMetrics.get(name);
  if (pairMetrics.has(name)) return pairMetrics.get(name);
  if (historyMetrics.has(name)) return historyMetrics.get(name);
  if (!estimators.has(name)) throw new UserError(`${where ? `${where}: ` : ''}unknown estimator '${name}' (known: ${allMetricNames().join(', ')})`);
  return estimators.get(name, where);
}

export function isMetricName(name: string): boolean {
  return estimators.has(name) || modelMetrics.has(name) || pairMetrics.has(name) || historyMetrics.has(name);
}

/** Every metric name, all kinds. */
export function allMetricNames(): string[] {
  return [...estimators.names(), ...modelMetrics.names(), ...pairMetrics.names(), ...historyMetrics.names()];
}
