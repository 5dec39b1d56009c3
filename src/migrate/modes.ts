/**
 * When documents read are checked with zod: `always` (every document), `migrated` (only those an
 * upcaster changed: documents already at the latest version cost nothing), `never`.
 * @public
 */
export const ValidateMode = Object.freeze({ ALWAYS: 'always', MIGRATED: 'migrated', NEVER: 'never' } as const);
/** @public */
export type ValidateMode = (typeof ValidateMode)[keyof typeof ValidateMode];

/**
 * What to do with a document at a version newer than the latest this code knows: `error` throws a
 * `NewerVersionError`; `passthrough` hands it out untouched and never writes it back.
 * @public
 */
export const OnNewerVersion = Object.freeze({ ERROR: 'error', PASSTHROUGH: 'passthrough' } as const);
/** @public */
export type OnNewerVersion = (typeof OnNewerVersion)[keyof typeof OnNewerVersion];

/** Default of the `validate` option. */
export const DEFAULT_VALIDATE: ValidateMode = ValidateMode.MIGRATED;
/** Default of the `onNewerVersion` option. */
export const DEFAULT_ON_NEWER_VERSION: OnNewerVersion = OnNewerVersion.ERROR;
