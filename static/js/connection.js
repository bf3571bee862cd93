// The live connection: join with our revision, send pending ops one at a time
// (so the server applies them in the order they were made), catch up on gaps,
// and report the state the person sees.
import { io } from '/vendor/socket.io.esm.min.js';

const ACK_TIMEOUT_MS = 10000;
const GAP_WAIT_MS = 300;

export class Connection {
  constructor(store, { onState, onPresence, onRejected, onSignedOut, onJoined = () => {} }) {
    this.onJoined = onJoined;
    this.store = store;
    this.onState = onState;
    this.onPresence = onPresence;
    this.onRejected = onRejected;
    this.onSignedOut = onSignedOut;
    this.joined = false;
    this.inFlight = null;
    this.socket = io({ transports: ['websocket'], autoConnect: false, reconnectionDelayMax: 5000 });
    this.bindSocket();
    window.addEventListener('online', () => this.goOnline());
    window.addEventListener('offline', () => this.goOffline());
    store.subscribe(() => { this.report(); this.flush(); });
  }

  start() {
    if (navigator.onLine) this.socket.connect();
    this.report();
  }

  get state() {
    if (!navigator.onLine) return 'offline';
    if (this.joined) return 'online';
    return this.everJoined ? 'reconnecting' : 'connecting';
  }

  report() {
    this.onState(this.state, this.store.unsentCount);
  }

  bindSocket() {
    const socket = this.socket;
    socket.on('connect', () => this.join());
    socket.on('disconnect', () => { this.joined = false; this.inFlight = null; this.report(); });
    socket.on('connect_error', (error) => {
      if (error?.message === 'not_authenticated') { socket.disconnect(); this.onSignedOut(); }
      this.report();
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
    if (!this.socket.connected) this.socket.connect();
    this.report();
  }

  join() {
    const request = { roadmap_id: this.store.roadmapId, since_revision: this.store.revision };
    this.socket.timeout(ACK_TIMEOUT_MS).emit('join', request, (timedOut, answer) => {
      if (timedOut || !answer) { this.retryJoinSoon(); return; }
      if (!answer.ok) {
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
      if (!this.store.hasGap() || !this.joined) return;
      const request = { roadmap_id: this.store.roadmapId, since_revision: this.store.revision };
      this.socket.timeout(ACK_TIMEOUT_MS).emit('catch_up', request, (timedOut, answer) => {
        if (!timedOut && answer?.ok) this.store.catchUp(answer);
      });
    }, GAP_WAIT_MS);
  }

  /** Send the oldest unsent op; the next goes when its ack is back. */
  flush() {
    if (!this.joined || this.inFlight) return;
    const op = this.store.nextToSend();
    if (!op) return;
    const { in_flight, acked_revision, ...payload } = op;
    op.in_flight = true;
    const attempt = { opId: op.op_id };
    this.inFlight = attempt;
    this.socket.timeout(ACK_TIMEOUT_MS).emit('op', payload, (timedOut, answer) => {
      if (this.inFlight !== attempt) return; // the connection was reset meanwhile
      this.inFlight = null;
      delete op.in_flight;
      if (timedOut || !answer) {
        // Unknown outcome: resend the same op id later; the server applies it once.
        this.socket.disconnect().connect();
        return;
      }
      if (answer.ok) {
        this.store.acknowledged(op.op_id, answer.revision);
      } else {
        this.store.rejected(op.op_id);
        if (answer.error?.code === 'not_authenticated') this.onSignedOut();
        else this.onRejected(answer.error);
      }
      this.flush();
    });
    this.report();
  }

  focus(target) {
    if (this.joined) this.socket.emit('focus', { focus: target });
  }
}
