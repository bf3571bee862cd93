// Comments on steps: each card's count (and how many are new to this person), and, in an
// open card, the thread one level deep with its form. Writing goes through the store as
// comment.* ops, so a comment written offline waits with the other edits and is sent on
// reconnect; reading loads a step's thread when its card opens (the join carries counts only).
import { newId } from './ops.js';
import { t } from './i18n.js';

export class CommentsView {
  constructor({ store, connection, personId, personName, isModerator, locale }) {
    Object.assign(this, { store, connection, personId, personName, isModerator });
    this.threads = new Map(); // step id -> { comments, names } once loaded
    this.loading = new Set();
    this.unread = {}; // step id -> comments by others not read yet
    this.openSteps = new Set();
    this.timeFormat = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
    store.onResolved((change) => this.resolved(change));
  }

  /** The join's answer: what this person has not read yet. */
  joined(unread) {
    this.unread = { ...(unread || {}) };
    for (const stepId of this.openSteps) this.load(stepId, true);
  }

  /** Wire one step card's comment controls. */
  bind(node, stepId, open) {
    node.querySelector('.comment-toggle').addEventListener('click', () => {
      open();
      node.querySelector('.comment-body-input')?.focus();
    });
    const form = node.querySelector('.comment-form');
    form.addEventListener('submit', (event) => { event.preventDefault(); this.send(form, stepId); });
    form.querySelector('.mention-select').addEventListener('change', (event) => this.mentionChosen(form, event.target));
    form.querySelector('.comment-cancel').addEventListener('click', () => this.resetForm(form));
    node.querySelector('.comment-list').addEventListener('click', (event) => this.actionClicked(event, form, stepId));
  }

  /** Fill a card: its count and, when open, its thread. */
  fill(node, step, map, open) {
    const count = map.comment_counts?.[step.id] || 0;
    const unread = this.unread[step.id] || 0;
    const toggle = node.querySelector('.comment-toggle');
    toggle.querySelector('.comment-number').textContent = count ? String(count) : '';
    toggle.classList.toggle('has-unread', unread > 0);
    toggle.classList.toggle('is-empty', count === 0 && unread === 0);
    toggle.setAttribute('aria-label', `${t('comments_count', count)}${unread ? `, ${t('comments_unread', unread)}` : ''}`);
    if (open && !this.openSteps.has(step.id)) this.opened(step.id);
    if (!open) this.openSteps.delete(step.id);
    if (open) this.fillThread(node, step.id, map);
    this.fillMentionChoice(node.querySelector('.mention-select'), map.members || []);
  }

  opened(stepId) {
    this.openSteps.add(stepId);
    this.load(stepId);
  }

  load(stepId, again = false) {
    if ((this.threads.has(stepId) && !again) || this.loading.has(stepId) || !this.connection.joined) return;
    this.loading.add(stepId);
    this.connection.socket.timeout(10000).emit('comments', { roadmap_id: this.store.roadmapId, step_id: stepId }, (timedOut, answer) => {
      this.loading.delete(stepId);
      if (timedOut || !answer?.ok) return;
      this.threads.set(stepId, { comments: answer.comments, names: answer.names });
      delete this.unread[stepId];
      this.store.changed();
    });
  }

  /** A confirmed change: keep the loaded threads and the unread counts true. */
  resolved(change) {
    if (change === null) { // far behind, the map came whole: open threads load again
      this.threads.clear();
      for (const stepId of this.openSteps) this.load(stepId, true);
      return;
    }
    const { op } = change;
    if (!op.type.startsWith('comment.')) return;
    const thread = this.threads.get(op.step_id);
    const byOther = change.author?.id !== this.personId;
    if (op.type === 'comment.add' && byOther) {
      if (this.openSteps.has(op.step_id)) this.markRead(op.step_id);
      else this.unread[op.step_id] = (this.unread[op.step_id] || 0) + 1;
    }
    if (!thread) return;
    if (op.type === 'comment.add') {
      thread.names[String(op.author_id)] = change.author?.name || '';
      thread.comments.push({
        id: op.comment_id, step_id: op.step_id, parent_id: op.parent_id, author_id: op.author_id, body: op.body,
        mentions: op.mentions, created_at: op.created_at, edited_at: null, deleted: false, hidden: false,
      });
      return;
    }
    const comment = thread.comments.find((item) => item.id === op.comment_id);
    if (!comment) return;
    if (op.type === 'comment.edit') Object.assign(comment, { body: op.body, mentions: op.mentions, edited_at: op.edited_at });
    if (op.type === 'comment.delete') Object.assign(comment, { deleted: true, body: '' });
    if (op.type === 'comment.hide') {
      comment.hidden = op.hidden;
      if (op.hidden && !this.isModerator) comment.body = ''; // as the server shows it to the group
      if (!op.hidden && !comment.body) this.load(op.step_id, true); // shown again: its words come from the server
    }
  }

  markRead(stepId) {
    if (this.connection.joined) {
      this.connection.socket.timeout(10000).emit('comments_read', { roadmap_id: this.store.roadmapId, step_id: stepId }, () => {});
    }
  }

  /** The thread as loaded, with this person's comment ops that are not confirmed yet on top. */
  shownThread(stepId) {
    const loaded = this.threads.get(stepId);
    const comments = (loaded?.comments || []).map((comment) => ({ ...comment }));
    const names = { ...(loaded?.names || {}), [String(this.personId)]: this.personName };
    for (const op of this.store.pending) {
      if (op.type === 'comment.add' && op.step_id === stepId && !comments.some((item) => item.id === op.comment_id)) {
        comments.push({
          id: op.comment_id, step_id: stepId, parent_id: op.parent_id || null, author_id: this.personId, body: op.body,
          mentions: op.mentions || [], created_at: null, edited_at: null, deleted: false, hidden: false, pending: true,
        });
      }
      const comment = comments.find((item) => item.id === op.comment_id);
      if (!comment) continue;
      if (op.type === 'comment.edit') Object.assign(comment, { body: op.body, pending: true });
      if (op.type === 'comment.delete') Object.assign(comment, { deleted: true, body: '', pending: true });
    }
    // Replies sit under their comment; a reply whose comment was not loaded stands alone.
    const ids = new Set(comments.map((item) => item.id));
    const roots = comments.filter((item) => !item.parent_id || !ids.has(item.parent_id));
    return { names, roots, replies: (id) => comments.filter((item) => item.parent_id === id) };
  }

  fillThread(node, stepId, map) {
    const list = node.querySelector('.comment-list');
    const { names, roots, replies } = this.shownThread(stepId);
    const signature = JSON.stringify([names, roots, roots.map((root) => replies(root.id)), map.locked, this.threads.has(stepId)]);
    if (list.dataset.signature === signature) return;
    list.dataset.signature = signature;
    list.replaceChildren(...roots.map((root) => {
      const item = this.commentItem(root, names, map.locked);
      const answers = replies(root.id);
      if (answers.length) {
        const nested = document.createElement('ol');
        nested.className = 'comment-replies';
        nested.append(...answers.map((answer) => this.commentItem(answer, names, map.locked)));
        item.append(nested);
      }
      return item;
    }));
    const status = node.querySelector('.comments-status');
    status.hidden = this.threads.has(stepId) || roots.length > 0;
    status.textContent = this.connection.joined ? t('comments_loading') : t('comments_offline');
    node.querySelector('.comments-empty').hidden = !this.threads.has(stepId) || roots.length > 0;
  }

  commentItem(comment, names, locked) {
    const item = document.createElement('li');
    item.className = 'comment';
    item.dataset.commentId = comment.id;
    item.classList.toggle('is-pending', Boolean(comment.pending));
    item.classList.toggle('is-hidden', comment.hidden);
    const head = document.createElement('p');
    head.className = 'comment-head';
    const author = document.createElement('strong');
    author.textContent = names[String(comment.author_id)] || t('former_member');
    const when = document.createElement('span');
    when.className = 'comment-when';
    when.textContent = comment.pending ? t('comment_not_sent') : this.when(comment);
    head.append(author, ' ', when);
    const body = document.createElement('p');
    body.className = 'comment-text';
    if (comment.deleted) body.textContent = t('comment_deleted');
    else if (comment.hidden && !comment.body) body.textContent = t('comment_hidden');
    else body.textContent = comment.body;
    body.classList.toggle('is-gone', comment.deleted || (comment.hidden && !comment.body));
    item.append(head, body);
    if (comment.hidden && comment.body) {
      const note = document.createElement('p');
      note.className = 'comment-note';
      note.textContent = t('comment_hidden_for_others');
      item.append(note);
    }
    if (!comment.deleted && !locked) item.append(this.actions(comment, names));
    return item;
  }

  when(comment) {
    const text = comment.created_at ? this.timeFormat.format(new Date(`${comment.created_at}Z`)) : '';
    return comment.edited_at ? `${text} · ${t('comment_edited')}` : text;
  }

  actions(comment, names) {
    const actions = document.createElement('p');
    actions.className = 'comment-actions';
    const button = (action, label) => {
      const control = document.createElement('button');
      control.type = 'button';
      control.className = 'link-button';
      control.dataset.action = action;
      control.textContent = label;
      actions.append(control, ' ');
    };
    if (!comment.hidden) button('reply', t('comment_reply'));
    if (comment.author_id === this.personId && !comment.pending) {
      button('edit', t('comment_edit'));
      button('delete', t('comment_delete'));
    }
    if (this.isModerator && !comment.pending) button(comment.hidden ? 'show' : 'hide', comment.hidden ? t('comment_show') : t('comment_hide'));
    actions.dataset.author = names[String(comment.author_id)] || '';
    return actions;
  }

  actionClicked(event, form, stepId) {
    const control = event.target.closest('[data-action]');
    if (!control) return;
    const commentId = control.closest('.comment').dataset.commentId;
    const comment = this.threads.get(stepId)?.comments.find((item) => item.id === commentId);
    const { action } = control.dataset;
    if (action === 'reply') this.startForm(form, { parentId: commentId, label: t('comment_replying').replace('{name}', control.parentElement.dataset.author) });
    if (action === 'edit' && comment) this.startForm(form, { editing: commentId, label: t('comment_editing'), body: comment.body, mentions: comment.mentions });
    if (action === 'delete' && window.confirm(t('comment_delete_confirm'))) this.store.edit({ type: 'comment.delete', comment_id: commentId });
    if (action === 'hide' || action === 'show') {
      this.store.edit({ type: 'comment.hide', comment_id: commentId, hidden: action === 'hide' });
    }
  }

  startForm(form, { parentId = '', editing = '', label, body, mentions = [] }) {
    form.dataset.parentId = parentId;
    form.dataset.editing = editing;
    form.dataset.mentions = JSON.stringify(mentions);
    form.querySelector('.comment-form-label').textContent = label;
    form.querySelector('.comment-form-context').hidden = false;
    const input = form.querySelector('.comment-body-input');
    if (body !== undefined) input.value = body;
    input.focus();
  }

  resetForm(form) {
    form.dataset.parentId = '';
    form.dataset.editing = '';
    form.dataset.mentions = '[]';
    form.querySelector('.comment-form-context').hidden = true;
    form.querySelector('.comment-body-input').value = '';
  }

  fillMentionChoice(select, members) {
    const others = members.filter((member) => member.id !== this.personId);
    const signature = JSON.stringify(others);
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    select.replaceChildren(new Option(t('mention_someone'), ''), ...others.map((member) => new Option(member.name, String(member.id))));
    select.hidden = others.length === 0;
  }

  /** Put «@Name » at the caret and remember whom it names. */
  mentionChosen(form, select) {
    const personId = Number(select.value);
    const name = select.selectedOptions[0]?.textContent;
    select.value = '';
    if (!personId) return;
    const input = form.querySelector('.comment-body-input');
    const at = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, at);
    const inserted = `${before && !/\s$/.test(before) ? ' ' : ''}@${name} `;
    input.value = `${before}${inserted}${input.value.slice(at)}`;
    input.setSelectionRange(at + inserted.length, at + inserted.length);
    input.focus();
    form.dataset.mentions = JSON.stringify([...new Set([...JSON.parse(form.dataset.mentions || '[]'), personId])]);
  }

  send(form, stepId) {
    const input = form.querySelector('.comment-body-input');
    const body = input.value.trim();
    if (!body) return;
    // Named as chosen and still there: a name deleted from the text mentions nobody.
    const members = this.store.view.members || [];
    const mentions = JSON.parse(form.dataset.mentions || '[]')
      .filter((id) => members.some((member) => member.id === id && body.includes(`@${member.name}`)));
    if (form.dataset.editing) {
      this.store.edit({ type: 'comment.edit', comment_id: form.dataset.editing, body, mentions });
    } else {
      const op = { type: 'comment.add', comment_id: newId(), step_id: stepId, body, mentions };
      if (form.dataset.parentId) op.parent_id = form.dataset.parentId;
      this.store.edit(op);
    }
    this.resetForm(form);
  }
}
