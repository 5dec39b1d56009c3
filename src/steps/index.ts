export { applyDown, applyUp, isInvertible } from './apply.js';
export { checkSteps } from './check.js';
export { downPipeline, upPipeline, type PipelineStage } from './pipeline.js';
export { describeStep, isDeclarativeStep, step } from './step.js';
export type { AddStep, ConvertFunctions, ConvertStep, DeclarativeStep, Expression, RemoveStep, RenameStep } from './step.js';
export type { ApplyStep, ApplySteps, StepsProducing } from './types.js';
