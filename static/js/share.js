// «Копировать» beside each link on the share page. The clipboard API needs a
// secure context (https or localhost); on the venue's plain-http address the
// link is selected and copied the old way, or left selected for the person to copy.
// Either way a note beside the button says what happened.
const STATUS_SHOWN_MS = 4000;

function copyBySelecting(field) {
  field.focus();
  field.select();
  field.setSelectionRange(0, field.value.length);
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

async function copy(field) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(field.value);
      return true;
    } catch {
      // refused (no permission, page not focused): fall back to selecting
    }
  }
  return copyBySelecting(field);
}

for (const button of document.querySelectorAll('[data-copy]')) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.getAttribute('aria-describedby'));
  let clearing = null;
  button.hidden = false;
  button.addEventListener('click', async () => {
    const copied = await copy(field);
    status.textContent = copied ? button.dataset.copied : button.dataset.selected;
    status.classList.toggle('copy-done', copied);
    clearTimeout(clearing);
    if (copied) clearing = setTimeout(() => { status.textContent = ''; }, STATUS_SHOWN_MS);
  });
}
