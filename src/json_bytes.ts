/**
 * The bytes of JSON's structure, for the scanners that read JSON text as
 * bytes without parsing it (the depth bound, the model rewrite, the usage
 * scan, the key spellings).
 *
 * @module
 */

/** `"` */
export const QUOTE = 0x22;
/** `\` */
export const BACKSLASH = 0x5c;
/** `{` */
export const OPEN_BRACE = 0x7b;
/** `}` */
export const CLOSE_BRACE = 0x7d;
/** `[` */
export const OPEN_BRACKET = 0x5b;
/** `]` */
export const CLOSE_BRACKET = 0x5d;
/** `:` */
export const COLON = 0x3a;
/** `,` */
export const COMMA = 0x2c;
