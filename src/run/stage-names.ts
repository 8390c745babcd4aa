/** The pipeline's stages, in execution order. Each reads and writes only files in the run directory. */
export const STAGE_NAMES = ['data', 'train', 'metrics', 'report'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Which stages' outputs each stage reads (a config's stage list is checked against this before anything runs). */
export const STAGE_NEEDS: Readonly<Record<StageName, readonly StageName[]>> = {
  data: [],
  train: ['data'],
  metrics: ['train'],
  report: ['metrics'],
};
