export type { Filter, TranslationChain, TranslationStep } from './chain.js';
export { checkSort, fieldPaths, translateFilter, translateFilterAt } from './translate-filter.js';
