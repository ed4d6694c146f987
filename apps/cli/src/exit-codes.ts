/** Exit statuses of `pali`, stable for scripts. */
export const EXIT = {
  OK: 0,
  /** The command ran and failed (a PaliError: bad input file, missing model, …). */
  FAILURE: 1,
  /** The command line itself was wrong (unknown command or option, missing argument). */
  USAGE: 2,
  /** A bug: an error that is not a PaliError. */
  INTERNAL: 3,
  /** Interrupted by the user (Ctrl-C). */
  INTERRUPTED: 130,
} as const;
