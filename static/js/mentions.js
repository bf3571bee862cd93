// The top bar's «@ N»: where this person was mentioned in a comment and has not looked yet.
// The page draws the list; a mention made while the page is open arrives over the socket.
import { t } from './i18n.js';

export function followMentions(socket) {
  const menu = document.getElementById('mentions');
  if (!menu) return;
  socket.on('mention', (mention) => {
    const link = document.createElement('a');
    link.href = `/mentions/${mention.id}`;
    link.textContent = t('mentioned_you').replace('{name}', mention.by).replace('{step}', mention.step_title || t('untitled_step'));
    const item = document.createElement('li');
    item.append(link);
    menu.querySelector('.mentions-list').prepend(item);
    const count = menu.querySelector('.mention-count');
    count.textContent = String(Number(count.textContent || 0) + 1);
    menu.hidden = false;
    menu.classList.add('is-new');
  });
}
