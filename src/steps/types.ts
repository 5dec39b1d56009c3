/**
 * What a list of declarative steps does to a document type, so that a list that does not produce
 * the next version's input does not compile. Exact for top-level fields (optional stays optional);
 * a dotted path makes its top-level field `any`, as far as the check is concerned.
 */
import type { ExtraKeys } from '../schema/version-types.js';
import type { AddStep, ConvertStep, DeclarativeStep, RemoveStep, RenameStep } from './step.js';

type Head<P extends string> = P extends `${infer H}.${string}` ? H : P;
type IsDotted<P extends string> = P extends `${string}.${string}` ? true : false;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** `O` with its top-level field `H` loosened to `any`: a dotted step changed something inside it. */
type Loosen<O, H extends string> = Simplify<Omit<O, H> & { [K in H]: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any

type Rename<O, F extends string, T extends string> = [IsDotted<F>, IsDotted<T>] extends [false, false]
  ? { [K in keyof O as K extends F ? T : K]: O[K] }
  : Loosen<Loosen<O, Head<F>>, Head<T>>;

type Convert<O, F extends string, T extends string, Out> = [IsDotted<F>, IsDotted<T>] extends [false, false]
  ? F extends keyof O
    ? { [K in keyof O as K extends F ? T : K]: K extends F ? Out : O[K] }
    : Simplify<O & { [K in T]: Out }>
  : Loosen<Loosen<O, Head<F>>, Head<T>>;

type Add<O, F extends string, V> = IsDotted<F> extends false ? Simplify<Omit<O, F> & { [K in F]: V }> : Loosen<O, Head<F>>;

type Remove<O, F extends string> = IsDotted<F> extends false ? Simplify<Omit<O, F>> : Loosen<O, Head<F>>;

/** The document type after one step. */
export type ApplyStep<O, S> =
  S extends RenameStep<infer F, infer T> ? Rename<O, F, T>
    : S extends AddStep<infer F, infer V> ? Add<O, F, V>
      : S extends RemoveStep<infer F> ? Remove<O, F>
        : S extends ConvertStep<infer F, infer T, infer _In, infer Out> ? Convert<O, F, T, Out>
          : O;

/** The document type after a list of steps, in order. */
export type ApplySteps<O, L extends readonly unknown[]> = L extends readonly [infer H, ...infer R] ? ApplySteps<ApplyStep<O, H>, R> : O;

/**
 * `L` when the steps turn `From` into something the next version accepts (`To`), with no key `To`
 * lacks (it would be stored with every document); otherwise a type
 * whose one key says so and shows what the steps produce, which is what the compiler reports.
 * Written inline (or `as const`), a list is a tuple and is checked; an array typed as such is not.
 */
export type StepsProducing<From, To, L extends readonly DeclarativeStep[]> = number extends L['length']
  ? L // a list kept in a variable is an array, not a tuple: its order is unknown to the compiler, so only the definition-time check applies
  : ApplySteps<From, L> extends To
  ? [ExtraKeys<ApplySteps<From, L>, To>] extends [never]
    ? L
    : L & { readonly 'these steps keep or add keys the next version does not have (remove or rename them)': ExtraKeys<ApplySteps<From, L>, To> }
  : L & { readonly 'these steps do not produce the next version\'s input; they produce': ApplySteps<From, L> };
