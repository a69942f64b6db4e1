/**
 * @chorus/inference: Stable-Audio-style text-to-audio on onnxruntime-node. It depends on nothing of
 * the farm (no Nest, Redis, Postgres or S3), so the CLI, the worker and tests share it as is.
 */
export { ModelRunner, type BatchItem, type GenerateOptions, type ModelRunnerOptions, type Progress } from './model-runner';
export {
  DEFAULT_SECONDS_TOTAL,
  maxSecondsTotal,
  resolveSeed,
  validateGenerationRequest,
  type GeneratedAudio,
  type GenerationRequest,
  type SamplerName,
} from './generation';
export { MANIFEST_FILE, modelManifestSchema, readManifest, secondsTotalRange, windowSeconds, type ModelManifest } from './manifest';
export { checkGraphNames, loadManifest, type ExecutionProviderName } from './graphs';
export { AUDIO_MIME_TYPES, encodeAudio, type AudioFormat, type EncodeOptions, type WavBitDepth } from './audio-encoders';
export {
  AbortError,
  ExecutionProviderError,
  InferenceThreadError,
  InvalidRequestError,
  ModelLoadError,
} from './errors';
export { GenerationPipeline, type ItemOutcome, type PipelineItem, type SampleOptions } from './pipeline';
export {
  karrasSigmas,
  polyexponentialSigmas,
  rfLinearTimes,
  rfLogSnrTimes,
  sigmasFor,
  timeShift,
  type DistShift,
  type ScheduleName,
  type ScheduleParams,
} from './schedules';
export { SAMPLER_FUNCTIONS, sampleDpmpp2m, sampleDpmpp3mSde, sampleEuler, samplePingpong, type Denoiser, type Sampler } from './samplers';
export { objectiveFor, type ObjectiveParameterization } from './objectives';
export { denoisedFromFlow } from './rectified-flow';
export { guide, guidanceApplies, type GuidanceParams } from './guidance';
export { denoisedFromV, scaleInput, sigmaToT, vScalings } from './v-denoiser';
export { PHILOX_KEY_TAG, fillNormals, normals, philox4x32 } from './philox';
export { ByteTokenizer, HfTokenizer, createTokenizer, type TextTokenizer, type TokenizedText } from './tokenizers';
export {
  TextFeatureCache,
  buildBatchConditioning,
  type BatchConditioning,
  type BatchConditioningOptions,
  type ItemConditioning,
  type TextFeatures,
  type UncondMode,
} from './conditioning';
