import {Registry} from '../registry.js';
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
import type {Estimator} from './types.js';
import {localRankMetric, weightFeaturesMetric, type ModelMetric} from './model/index.js';

/** Every metric tdlab can compute, by name. Adding one: write its file, add one line here. */
export const estimators = new Registry<Estimator<any>>('estimator')
  .register(miBin.name, miBin)
  .register(miBinWidth.name, miBinWidth)
  .register(miEbab.name, miEbab)
  .register(miAdaptMax.name, miAdaptMax)
  .register(miKde.name, miKde)
  .register(miAkde.name, miAkde)
  .register(miKsg.name, miKsg)
  .register(entKl.name, entKl)
  .register(entWkl.name, entWkl)
  .register(ibLossy.name, ibLossy)
  .register(geomDse.name, geomDse)
  .register(geomDsmi.name, geomDsmi)
  .register(entRenyi.name, entRenyi)
  .register(entMatrix.name, entMatrix)
  .register(entVne.name, entVne)
  .register(entMbe2.name, entMbe2)
  .register(geomErank.name, geomErank)
  .register(geomRankme.name, geomRankme)
  .register(geomAlphaReq.name, geomAlphaReq)
  .register(geomPr.name, geomPr)
  .register(actStats.name, actStats);

/** Metrics of a snapshot's weights (checkpoint) instead of its activations. */
export const modelMetrics = new Registry<ModelMetric<any>>('weight metric')
  .register(localRankMetric.name, localRankMetric)
  .register(weightFeaturesMetric.name, weightFeaturesMetric);

/** An activation estimator or a weight metric, by name: config entries may name either. */
export function anyMetric(name: string, where = ''): Estimator<any> | ModelMetric<any> {
  if (modelMetrics.has(name)) return modelMetrics.get(name);
  return estimators.get(name, where);
}

export function isMetricName(name: string): boolean {
  return estimators.has(name) || modelMetrics.has(name);
}
