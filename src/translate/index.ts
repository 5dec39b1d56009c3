export type { Filter, TranslationChain, TranslationStep } from './chain.js';
export { checkSort, translateFilter } from './translate-filter.js';
