// Keyed list rendering: one DOM node per item id, reused across renders. The
// node holding the focused control is never moved (moving a node takes the
// focus away, and on a phone closes the keyboard): the others move around it,
// so a person typing keeps their caret, their selection and their keyboard
// while someone else reorders, adds, deletes or restores items.

/**
 * Make `list` show `items` in order. `nodes` maps id -> node between calls;
 * create(id) builds a node, fill(node, item, index) updates it.
 */
export function renderKeyed(list, items, nodes, create, fill) {
  const wanted = items.map((item, index) => {
    const node = nodes.get(item.id) || create(item.id);
    nodes.set(item.id, node);
    fill(node, item, index);
    return node;
  });
  const kept = new Set(wanted);
  for (const [id, node] of nodes) {
    if (!kept.has(node)) { node.remove(); nodes.delete(id); }
  }
  const anchor = wanted.findIndex((node) => node.isConnected && node.parentNode === list && node.contains(document.activeElement));
  if (anchor < 0) {
    placeAfter(list, wanted, 0, null);
    return;
  }
  placeAfter(list, wanted, anchor + 1, wanted[anchor]);
  for (let index = anchor - 1; index >= 0; index -= 1) {
    if (wanted[index].nextElementSibling !== wanted[index + 1]) list.insertBefore(wanted[index], wanted[index + 1]);
  }
}

/** Put wanted[from…] in order right after `previous` (or first in the list). */
function placeAfter(list, wanted, from, previous) {
  for (let index = from; index < wanted.length; index += 1) {
    const slot = previous ? previous.nextElementSibling : list.firstElementChild;
    if (slot !== wanted[index]) list.insertBefore(wanted[index], slot);
    previous = wanted[index];
  }
}
