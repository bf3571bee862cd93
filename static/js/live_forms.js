import { t } from './i18n.js';

// Forms marked data-live post with fetch and stay on the page; the server answers
// JSON ({ok, message, ...}) to requests with X-Requested-With: fetch, and a
// redirect otherwise, so the same forms work without JavaScript.

export async function postForm(form, submitter, extra = {}) {
  const body = new FormData(form, submitter);
  for (const [key, value] of Object.entries(extra)) body.set(key, value);
  return postData(form.action, body);
}

export async function postData(url, body) {
  try {
    const response = await fetch(url, {
      method: 'POST', body, credentials: 'same-origin',
      headers: { 'X-Requested-With': 'fetch', Accept: 'application/json' },
    });
    const answer = await response.json().catch(() => null);
    if (answer) return answer;
    return { ok: false, message: `${t('request_failed')} (${response.status})` };
  } catch {
    return { ok: false, message: t('network_error') };
  }
}

/** Wire every data-live form in `root`; `onDone(form, answer)` sees each answer. */
export function bindLiveForms(root, toasts, onDone = () => {}) {
  root.addEventListener('submit', async (event) => {
    const form = event.target.closest('form[data-live]');
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const submitter = event.submitter;
    const extra = {};
    form.setAttribute('aria-busy', 'true');
    const answer = await postForm(form, submitter, extra);
    form.removeAttribute('aria-busy');
    if (answer.ok) {
      toasts.show(answer.message);
      if ('reset' in form.dataset) form.reset();
      if ('reload' in form.dataset) window.location.reload();
    } else {
      toasts.error(answer.message);
    }
    onDone(form, answer);
  });
}

export function csrfToken() {
  return document.querySelector('input[name$="csrf_token"]')?.value || '';
}
