export type { Filter, TranslationChain, TranslationStep } from './chain.js';
export { checkSort, translateFilter, translateFilterAt } from './translate-filter.js';
