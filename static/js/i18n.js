// Interface strings come translated from the server (editor-data JSON).
let strings = {};

export function setStrings(translated) {
  strings = translated || {};
}

export function t(key, count) {
  if (count !== undefined && key === 'pending') {
    return count === 1 ? strings.pending_one : (strings.pending_many || '').replace('{n}', String(count));
  }
  const text = strings[key] ?? key;
  return count === undefined ? text : text.replace('{n}', String(count));
}
