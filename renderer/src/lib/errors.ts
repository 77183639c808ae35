/**
 * The core's messages are written for the command line too, and some end in a CLI hint
 * ("pass --force", "`ticketlab ls` lists them"). In the app those hints are said the app's
 * way: each rule rewrites one kind of hint; a message without one is shown as it came.
 */
const APP_WORDING: [RegExp, string][] = [
  // FILE_EXISTS (src/core/files.ts): the export dialog offers a Replace button
  [
    /^Not overwriting (.+): choose another path or pass --force\.$/s,
    'Already there: $1. Choose another name, or replace it.',
  ],
  // NOT_FOUND for experiments, jobs and sweeps
  [/; `ticketlab (?:ls|jobs|sweeps)` lists them\./g, '.'],
  [/Import one with `ticketlab datasets import <folder>`\./g, 'Import one on the Datasets page.'],
  [
    /set it again with `ticketlab target <target\.json>` \(or `ticketlab target local`\)/g,
    'set it again on the Settings page',
  ],
  [
    /export --weights initial for the weights its training starts from/g,
    'export its initial weights (those its training starts from) instead',
  ],
];

export function appWording(message: string): string {
  return APP_WORDING.reduce(
    (m, [pattern, replacement]) => m.replace(pattern, replacement),
    message,
  );
}
