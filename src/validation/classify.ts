import {formatParams} from '../metrics/params.js';
import type {Estimator, EstimatorInput, EstimatorValue} from '../metrics/types.js';
import {errorMessage} from '../util/errors.js';
import {Rng} from '../util/prng.js';
import {parseParams} from './estimator-io.js';
import type {SuiteEstimatorInfo} from './types.js';

/*
 * Which tasks an estimator meets: each information estimator is probed once on a small random
 * input with and without continuous x (see the module doc of suite.ts).
 */

export interface Plan {
  est: Estimator<any>;
  info: SuiteEstimatorInfo;
  params?: Record<string, unknown>;
  paramsError?: string;
}

function probeInput(withX: boolean): EstimatorInput {
  const rng = new Rng(12345, 'validate/probe');
  const n = 256;
  const T = new Float32Array(n * 2);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.normal();
    T[2 * i] = x[i] + 0.5 * rng.normal();
    T[2 * i + 1] = rng.normal();
  }
  const y = Int32Array.from({length: n}, (_, i) => i % 2);
  return {T: {data: T, rows: n, cols: 2}, y, seed: 0, ...(withX ? {x: {data: x, rows: n, cols: 1}} : {})};
}

export function classify(est: Estimator<any>): Plan {
  const name = est.name;
  let params: Record<string, unknown> | undefined;
  let paramsError: string | undefined;
  try {
    params = parseParams(est);
  } catch (err) {
    paramsError = `parameters: ${errorMessage(err)}`;
  }
  const byName = name === 'mi.ksg' || name.startsWith('ib.') || name.startsWith('ent.');
  const info: SuiteEstimatorInfo = {name, role: byName ? 'continuous' : 'identity', entropy: name.startsWith('ent.'), params: params ? formatParams(params) : ''};
  if (!params) {
    info.probeError = paramsError;
    return {est, info, paramsError};
  }
  try {
    const withX = est.compute(probeInput(true), params);
    let withoutX: EstimatorValue[] | undefined;
    try {
      withoutX = est.compute(probeInput(false), params);
    } catch {
      withoutX = undefined;
    }
    const a = withX.find((v) => v.quantity === 'I_XT');
    const b = withoutX?.find((v) => v.quantity === 'I_XT');
    info.role = a !== undefined && (b === undefined || !Object.is(a.value, b.value)) ? 'continuous' : 'identity';
    info.entropy = info.role === 'continuous' && (name.startsWith('ent.') || withX.some((v) => v.quantity === 'H'));
  } catch (err) {
    info.probeError = errorMessage(err);
  }
  return {est, info, params};
}

