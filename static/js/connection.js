// The live connection: join with our revision, send pending ops one at a time
// (so the server applies them in the order they were made), catch up on gaps,
// and report the state the person sees.
import { io } from '/vendor/socket.io.esm.min.js';
import { wireForm } from './ops.js';

const ACK_TIMEOUT_MS = 10000;
const GAP_WAIT_MS = 300;
const SERVER_ERROR_RETRY_MS = 3000;
const SERVER_ERROR_RETRIES = 3;
// A rate-limited op is kept and sent again after this pause, as often as it takes.
const RATE_LIMITED_RETRY_MS = 2000;
// Refused for too many open connections: try again after this, in case some were closed.
const CONNECTION_CAP_RETRY_MS = 30000;
const CONFIRMATION_WAIT_MS = 1000;

export class Connection {
  constructor(store, { onState, onPresence, onRejected, onSignedOut, onJoined = () => {}, onLeftGroup = () => {} }) {
    this.onJoined = onJoined;
    this.onLeftGroup = onLeftGroup;
    this.leftGroup = false; // the moderator took this person out of the map's group
    this.store = store;
    this.onState = onState;
    this.onPresence = onPresence;
    this.onRejected = onRejected;
    this.onSignedOut = onSignedOut;
    this.joined = false;
    this.inFlight = null;
    this.resumeAt = 0; // after a server error, the next attempt waits until then
    this.socket = io({ transports: ['websocket'], autoConnect: false, reconnectionDelayMax: 5000 });
    this.bindSocket();
    window.addEventListener('online', () => this.goOnline());
    window.addEventListener('offline', () => this.goOffline());
    store.subscribe(() => { this.report(); this.flush(); });
  }

  start() {
    if (navigator.onLine && !this.leftGroup) this.socket.connect();
    this.report();
  }

  get state() {
    if (this.leftGroup) return 'left';
    if (this.capped) return 'too_many_connections';
    if (!navigator.onLine) return 'offline';
    if (this.joined) return 'online';
    return this.everJoined ? 'reconnecting' : 'connecting';
  }

  report() {
    this.store.connected = this.joined;
    this.onState(this.state, this.store.unsentCount, this.store.held);
  }

  bindSocket() {
    const socket = this.socket;
    socket.on('connect', () => { this.capped = false; this.join(); });
    socket.on('disconnect', (reason) => {
      this.joined = false;
      this.inFlight = null;
      this.report();
      // The server closes the connections of a person the moderator merged into another;
      // Socket.IO does not come back by itself then, and the cookie now signs in as the other.
      if (reason === 'io server disconnect' && navigator.onLine && !this.leftGroup) socket.connect();
    });
    socket.on('connect_error', (error) => {
      if (error?.message === 'not_authenticated') { socket.disconnect(); this.onSignedOut(); }
      if (error?.message === 'too_many_connections') {
        this.capped = true;
        clearTimeout(this.connectRetry);
        this.connectRetry = setTimeout(() => this.goOnline(), CONNECTION_CAP_RETRY_MS);
      }
      this.report();
    });
    socket.on('left_group', (notice) => {
      if (notice.roadmap_id !== this.store.roadmapId) return;
      // What is not sent stays on this device; the server would refuse it now.
      this.leftGroup = true;
      this.goOffline();
      this.onLeftGroup(notice);
    });
    socket.on('change', (change) => {
      if (change.roadmap_id !== this.store.roadmapId || !this.joined) return;
      if (this.store.receive(change) === 'gap') this.scheduleCatchUp();
    });
    socket.on('members', (update) => {
      if (update.roadmap_id === this.store.roadmapId) this.store.setMembers(update.members);
    });
    socket.on('presence', (update) => {
      if (update.roadmap_id === this.store.roadmapId) this.onPresence(update.people);
    });
  }

  goOffline() {
    // The browser knows it lost the network: stop retrying into the void.
    this.socket.disconnect();
    this.joined = false;
    this.inFlight = null;
    this.report();
  }

  goOnline() {
    if (!this.socket.connected && !this.leftGroup) this.socket.connect();
    this.report();
  }

  join() {
    const request = { roadmap_id: this.store.roadmapId, since_revision: this.store.revision };
    this.socket.timeout(ACK_TIMEOUT_MS).emit('join', request, (timedOut, answer) => {
      if (timedOut || !answer) { this.retryJoinSoon(); return; }
      if (!answer.ok) {
        if (answer.error?.code === 'rate_limited') this.retryJoinSoon();
        if (answer.error?.code === 'not_authenticated' || answer.error?.code === 'forbidden') this.onSignedOut();
        return;
      }
      this.store.catchUp(answer);
      if (answer.members) this.store.setMembers(answer.members);
      this.joined = true;
      this.everJoined = true;
      this.onPresence(answer.presence || []);
      this.onJoined(answer);
      this.report();
      this.flush();
    });
  }

  retryJoinSoon() {
    clearTimeout(this.joinRetry);
    this.joinRetry = setTimeout(() => { if (this.socket.connected && !this.joined) this.join(); }, 1000);
  }

  scheduleCatchUp() {
    if (this.catchUpTimer) return;
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = null;
      if (this.store.hasGap()) this.catchUp();
    }, GAP_WAIT_MS);
  }

  catchUp() {
    if (!this.joined) return;
    const request = { roadmap_id: this.store.roadmapId, since_revision: this.store.revision };
    this.socket.timeout(ACK_TIMEOUT_MS).emit('catch_up', request, (timedOut, answer) => {
      if (!timedOut && answer?.ok) this.store.catchUp(answer);
      this.flush(); // an op waiting for its field's last change asks again if this brought nothing
    });
  }

  /** Send the oldest unsent op; the next goes when its ack is back. */
  flush() {
    clearTimeout(this.sendTimer);
    if (!this.joined || this.inFlight || this.store.held) return;
    const op = this.store.nextToSend();
    if (!op) return;
    if (this.store.waitsForConfirmation(op)) {
      // Its change is normally on its way with the ack; ask for it if it is late.
      this.sendTimer = setTimeout(() => this.catchUp(), CONFIRMATION_WAIT_MS);
      return;
    }
    const wait = Math.max(this.store.sendAt(op), this.resumeAt) - Date.now();
    if (wait > 0) {
      this.sendTimer = setTimeout(() => this.flush(), wait);
      return;
    }
    this.store.prepareToSend(op);
    const attempt = { opId: op.op_id };
    this.inFlight = attempt;
    this.socket.timeout(ACK_TIMEOUT_MS).emit('op', wireForm(op), (timedOut, answer) => {
      if (this.inFlight !== attempt) return; // the connection was reset meanwhile
      this.inFlight = null;
      delete op.in_flight;
      if (timedOut || !answer) {
        // Unknown outcome: resend the same op id later; the server applies it once.
        this.socket.disconnect().connect();
        return;
      }
      this.answered(op, answer);
      this.flush();
    });
    this.report();
  }

  answered(op, answer) {
    const code = answer.ok ? null : answer.error?.code;
    if (answer.ok) {
      this.store.acknowledged(op.op_id, answer.revision);
    } else if (code === 'locked') {
      this.store.heldByLock(op.op_id);
      this.catchUp(); // the lock's own change may not have reached us yet
    } else if (code === 'conflict') {
      this.store.conflicted(op.op_id, answer.error.conflict);
    } else if (code === 'server_error' && this.triesLeft(op)) {
      this.resumeAt = Date.now() + SERVER_ERROR_RETRY_MS;
    } else if (code === 'rate_limited') {
      this.resumeAt = Date.now() + RATE_LIMITED_RETRY_MS; // kept: the same op id goes again
    } else {
      this.store.rejected(op.op_id);
      if (code === 'not_authenticated') this.onSignedOut();
      else this.onRejected(answer.error);
    }
  }

  /** Counts a server error against the op; whether it may be sent again. */
  triesLeft(op) {
    op.server_errors = (op.server_errors || 0) + 1;
    return op.server_errors < SERVER_ERROR_RETRIES;
  }

  focus(target) {
    if (this.joined) this.socket.timeout(ACK_TIMEOUT_MS).emit('focus', { focus: target }, () => {});
  }
}
