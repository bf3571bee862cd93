// A vote's ranking as a list, most dots first: the dashboard shows it across
// groups (with each step's group), the editor's vote bar shows one group's.
import { t } from './i18n.js';

export function fillRanking(list, ranking, { withGroup = false } = {}) {
  list.hidden = ranking.length === 0;
  list.replaceChildren(...ranking.map((item) => {
    const entry = document.createElement('li');
    const dots = document.createElement('span');
    dots.className = 'dot-count';
    dots.textContent = `● ${item.dots}`;
    const title = document.createElement('span');
    title.className = 'vote-ranking-title';
    title.textContent = item.title || t('untitled_step');
    entry.append(dots, ' ', title);
    if (withGroup) {
      const group = document.createElement('span');
      group.className = 'vote-ranking-group';
      group.textContent = item.group_name;
      entry.append(' ', group);
    }
    return entry;
  }));
  return list;
}
