/**
 * The users story from the zero-downtime playbook, in three versions:
 *
 * - v1 `full_name`: what the first release stored (documents without a version field read as v1);
 * - v2 renames `full_name` to `display_name` and adds a nullable `email` (old users have none);
 * - v3 splits the name into `name.given` and `name.family` (null for a one-word name).
 */
import { z } from 'zod';
import { defineSchema, step, type Infer } from 'mongo-molt';

/** Version 1: the first release's user. */
export const UserV1 = z.object({
  _id: z.string(),
  full_name: z.string(),
  created_at: z.date(),
});

/** Version 2: `full_name` renamed to `display_name`; `email` added, `null` until the user gives one. */
export const UserV2 = z.object({
  _id: z.string(),
  display_name: z.string().min(1),
  email: z.email().nullable(),
  created_at: z.date(),
});

/** Version 3: the name in parts, for salutations and sorting by family name. */
export const UserV3 = z.object({
  _id: z.string(),
  name: z.object({ given: z.string().min(1), family: z.string().min(1).nullable() }),
  email: z.email().nullable(),
  created_at: z.date(),
});

/**
 * Splits a display name at its first run of whitespace: "Ada King Lovelace" is given "Ada", family
 * "King Lovelace"; "Plato" is given "Plato", family null. `joinName` undoes it for names written
 * with single spaces, which is what the v3 -> v2 downcaster relies on.
 */
export function splitName(displayName: string): { given: string; family: string | null } {
  const trimmed = displayName.trim();
  const space = trimmed.search(/\s/);
  if (space === -1) return { given: trimmed, family: null };
  return { given: trimmed.slice(0, space), family: trimmed.slice(space).trim() };
}

/** The display name of a split name: the parts joined with one space. */
export function joinName(name: { given: string; family: string | null }): string {
  return name.family === null ? name.given : `${name.given} ${name.family}`;
}

/**
 * The user schema as release 2 knew it: versions 1 and 2. The step is data (a rename and an added
 * field), so queries on `display_name` and `email` also find version-1 users, and a sweep can run
 * it on the server. Its down comes for free and is lossy: v1 has nowhere to keep an email (sweep
 * with `archive: true` to keep originals). Kept as its own export because the next release's
 * schema is this one plus a version: during a rolling deploy both run side by side (see
 * examples/walkthrough).
 */
export const UserThroughV2 = defineSchema('user')
  .version(1, UserV1)
  .version(2, UserV2, [step.rename('full_name', 'display_name'), step.add('email', null)]);

/** The user schema: v3 splits the name (real logic: a function step), and v3 -> v2 joins the parts again. */
export const User = UserThroughV2.version(3, UserV3, {
  up: ({ display_name, ...rest }) => ({ ...rest, name: splitName(display_name) }),
  down: ({ name, ...rest }) => ({ ...rest, display_name: joinName(name) }),
});

/** A user as the app sees it: the latest version. */
export type UserDoc = Infer<typeof User>;
