/** The example schemas: users (a rename, a new field, a split) and orders (a type change, a split enum, a reshaped array). */
export * from './users.js';
export * from './orders.js';
