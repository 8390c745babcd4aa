import type {BackendChoice, BackendHint, LoadedBackend} from '../backend/tf.js';
import type {Config} from '../config/schema.js';
import type {RunPaths} from '../run/paths.js';
import type {StageName} from '../run/stage-names.js';

export interface StageContext {
  config: Config;
  configHash: string;
  runId: string;
  paths: RunPaths;
  /** The command line that started the run (recorded in reports). */
  command: string;
  /** Loads the tensor backend on first use (only stages that need tensors call it); `hint` sizes the work for `--backend auto`. */
  backend(hint?: BackendHint): Promise<LoadedBackend>;
  /** The backend asked for (`--backend`), known without loading it. */
  backendChoice: BackendChoice;
  /** A short progress line (shown by the progress renderer, throttled). */
  progress(line: string): void;
  /** A message worth keeping (warnings); printed and stored in the stage record. */
  note(line: string): void;
  signal: AbortSignal;
  /** CPU cores this run may use: all available, or its share when a sweep runs points side by side. */
  cores: number;
  /** train only: continue from the checkpoint of this snapshot epoch (a resumed run; see planResume). */
  resumeFrom?: number;
}

export interface StageResult {
  /** Files written, relative to the run directory. */
  outputs: string[];
  info?: Record<string, unknown>;
  /** train: the snapshot epoch it continued from, when it did. */
  resumedFromEpoch?: number;
}

/** A pipeline stage: reads files of earlier stages from the run directory and writes its own. */
export interface Stage {
  name: StageName;
  description: string;
  run(ctx: StageContext): Promise<StageResult>;
}
