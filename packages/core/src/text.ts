/** What a NUL character, or half of a surrogate pair, becomes in stored text. */
export const REPLACEMENT_CHARACTER = "\uFFFD";

// NUL, a high surrogate not followed by a low one, a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- NUL is the very character to find
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as PostgreSQL can store it: its `text` and `jsonb` types refuse the NUL character, and a lone
 * surrogate is not UTF-8 at all (drivers would turn it into a replacement character, or fail). Both
 * become U+FFFD, as bytes that are not UTF-8 do when a process's output is decoded, so one odd
 * character costs that character, not the line or the batch it came in.
 */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE, REPLACEMENT_CHARACTER);
}
