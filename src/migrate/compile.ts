import type { SchemaDefinition, Step } from '../schema/types.js';
import { applyDown, applyUp } from '../steps/apply.js';

/** A step compiled for the engine: a document in, the next version's document (or a promise of it) out. */
export type CompiledStep = (doc: Record<string, unknown>) => unknown;

/** The chain of a schema, compiled once: `up[i]` leads to version `first + i`, `down[i]` leaves it. */
export interface CompiledChain {
  readonly up: readonly (CompiledStep | undefined)[];
  readonly down: readonly (CompiledStep | undefined)[];
}

const chains = new WeakMap<SchemaDefinition, CompiledChain>();

/** The compiled chain of a definition (built on first use, then cached). */
export function compiledChain(definition: SchemaDefinition): CompiledChain {
  let chain = chains.get(definition);
  if (chain === undefined) {
    chain = Object.freeze({
      up: definition.entries.map((entry) => (entry.up === undefined ? undefined : compileStep(entry.up))),
      down: definition.entries.map((entry) => (entry.down === undefined ? undefined : compileStep(entry.down))),
    });
    chains.set(definition, chain);
  }
  return chain;
}

/** Turns one step (data) into what the engine runs. Each kind of step has one case here. */
export function compileStep(step: Step): CompiledStep {
  switch (step.kind) {
    case 'function':
      return step.run as CompiledStep;
    case 'declarative': {
      const { steps } = step;
      return step.direction === 'up' ? (doc) => applyUp(steps, doc) : (doc) => applyDown(steps, doc);
    }
  }
}
