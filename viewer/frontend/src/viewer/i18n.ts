/** Translation of UI strings: the server injects the user's language as a dictionary keyed by English. */

let strings: Record<string, string> = {};

export function setTranslations(dictionary: Record<string, string>): void {
  strings = dictionary;
}

/** The translated text, with `{name}` placeholders filled in. */
export function t(english: string, values: Record<string, string | number> = {}): string {
  const text = strings[english] ?? english;
  return text.replace(/\{(\w+)\}/g, (match, name: string) => (name in values ? String(values[name]) : match));
}
