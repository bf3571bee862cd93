// Accessible names of repeated cards. A field wrapped in its <label> would take
// the label's whole text as its name: a presence tag placed there, and a
// select's chosen option, would become part of it. So each wrapped field is
// named by the label's own caption only (aria-labelledby), and the cloned
// cards get ids of their own.
let lastId = 0;

export function uniqueId(prefix) {
  lastId += 1;
  return `${prefix}-${lastId}`;
}

/** Name every control wrapped in a <label> of `card` by the label's first <span> (its caption). */
export function nameByCaption(card) {
  for (const label of card.querySelectorAll('label')) {
    const caption = label.querySelector(':scope > span:first-child');
    const control = label.querySelector('input, select, textarea');
    if (!caption || !control) continue;
    caption.id ||= uniqueId('caption');
    control.setAttribute('aria-labelledby', caption.id);
  }
}

/**
 * Name a card's open/close button by its hidden word «Подробнее:» and its summary row, read
 * from the row even where the row is hidden (a laptop): the name starts with nothing the row
 * does not show, so it holds what a person sees on the button (WCAG 2.5.3, label in name).
 */
export function nameBySummary(button) {
  const parts = ['.details-word', '.summary-title', '.summary-meta'].map((selector) => button.querySelector(selector));
  for (const part of parts) part.id ||= uniqueId('summary');
  button.setAttribute('aria-labelledby', parts.map((part) => part.id).join(' '));
}

/** Let `element` be described by `description` too, read last (e.g. a summary row beside a button's short name). */
export function addDescription(element, description) {
  description.id ||= uniqueId('description');
  const ids = new Set((element.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  ids.delete(description.id);
  ids.add(description.id);
  element.setAttribute('aria-describedby', [...ids].join(' '));
}

/** Undo addDescription for every description id that matches `prefix`. */
export function dropDescriptions(element, prefix) {
  const kept = (element.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && !id.startsWith(prefix));
  if (kept.length) element.setAttribute('aria-describedby', kept.join(' '));
  else element.removeAttribute('aria-describedby');
}

