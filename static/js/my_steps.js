// «Мои шаги»: «Готово» marks a step done in place. Without JavaScript the same form posts
// and the page comes back; here the answer is JSON and only the step's row changes.
const text = JSON.parse(document.getElementById('my-steps-data').textContent);

function show(row, message, isError) {
  const note = row.querySelector('.my-step-message');
  note.textContent = message;
  note.classList.toggle('error', isError);
  note.hidden = false;
}

document.querySelectorAll('form.my-step-done').forEach((form) => {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const row = form.closest('.my-step');
    const button = form.querySelector('button');
    button.disabled = true;
    let answer;
    try {
      const response = await fetch(form.action, {
        method: 'POST', body: new FormData(form), headers: { 'X-Requested-With': 'fetch' }, credentials: 'same-origin',
      });
      answer = await response.json();
    } catch {
      answer = { ok: false, message: text.failed };
    }
    if (!answer.ok) {
      button.disabled = false;
      show(row, answer.message, true);
      return;
    }
    const status = document.createElement('span');
    status.className = 'my-step-status';
    status.textContent = text.done;
    form.replaceWith(status);
    row.classList.remove('is-overdue');
    row.classList.add('is-done');
    show(row, answer.message, false);
  });
});
