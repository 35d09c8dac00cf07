/**
 * modelpin's version: the one place it is written. `--version`, the banner,
 * `/health` and the packages read it from here.
 *
 * @module
 */

/** The version of this modelpin. */
export const VERSION = "0.2.0";
