// Interface strings come translated from the server (editor-data JSON).
// A counted string comes as its plural forms ({one, few, many, other}, as the
// language has them), picked with Intl.PluralRules.
let strings = {};
let plurals = new Intl.PluralRules('en');

export function setStrings(translated, locale) {
  strings = translated || {};
  plurals = new Intl.PluralRules(locale || 'en');
}

/** Progress under its one name on every page (the progress_words macro in templates/_macros.html). */
export function progressWords({ done, total, percent }) {
  return t('progress_words').replace('{done}', String(done)).replace('{total}', String(total))
    .replace('{percent}', String(percent));
}

export function t(key, count) {
  if (count !== undefined && key === 'pending') {
    return count === 1 ? strings.pending_one : (strings.pending_many || '').replace('{n}', String(count));
  }
  const entry = strings[key] ?? key;
  const text = typeof entry === 'object' ? (entry[plurals.select(count ?? 0)] ?? entry.other) : entry;
  return count === undefined ? text : text.replace('{n}', String(count));
}
