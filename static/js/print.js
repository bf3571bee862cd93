// The print page's button opens the browser's print dialog. It stays hidden
// without JavaScript, where it could do nothing.
const button = document.querySelector('[data-print]');
if (button) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}
