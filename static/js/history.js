// The revision slider and the restore confirmation on the "map at a revision" page.
const slider = document.getElementById('revision');
const form = slider?.closest('form');
slider?.addEventListener('change', () => { window.location.href = form.dataset.revisionUrl + slider.value; });
for (const confirmed of document.querySelectorAll('form[data-confirm]')) {
  confirmed.addEventListener('submit', (event) => {
    if (!window.confirm(confirmed.dataset.confirm)) event.preventDefault();
  });
}
