/* The desk's chat board: refreshed on every live chat event and each time its socket opens,
   without losing what the agent has typed or picked (a reply, a store, a day, a slot, an open
   panel). */
(function (w, d) {
  'use strict';
  var board = d.getElementById('chat-board');
  if (!board) { return; }
  var pending = false;  // a refresh put off while the agent types
  var loading = false;  // one refresh at a time: responses never land out of order
  var again = false;    // an event arrived while loading: fetch once more afterwards
  function newest() {
    Array.prototype.forEach.call(board.querySelectorAll('.chat-log'), function (log) {
      log.scrollTop = log.scrollHeight;
    });
  }
  newest();
  function typing() {  // a picked radio keeps its focus but is not typing
    var a = d.activeElement;
    return a && board.contains(a) && a.tagName === 'INPUT' && a.type !== 'radio' &&
      a.type !== 'checkbox' && a.value;
  }
  // A control's identity across two renderings of the board: its id, a radio by its form and
  // value (the slots of a day may change between refreshes), else its place in its card.
  function key(el) {
    if (el.id) { return '#' + el.id; }
    if (el.type === 'radio') {
      return (el.form ? el.form.getAttribute('action') : '') + ' ' + el.name + '=' + el.value;
    }
    var card = el.parentNode.closest('[id]');
    var same = card ? card.querySelectorAll(el.tagName) : [];
    return (card ? card.id : '') + ' ' + el.tagName + ':' + Array.prototype.indexOf.call(same, el);
  }
  function changed(el) {
    if (el.tagName === 'DETAILS') { return true; }
    if (el.tagName === 'SELECT') {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    if (el.type === 'radio' || el.type === 'checkbox') { return el.checked !== el.defaultChecked; }
    return el.value !== el.defaultValue;
  }
  var CONTROLS = 'details, select, textarea, input:not([type=hidden]):not([type=submit]):not([type=button])';
  function kept() {
    var state = {};
    Array.prototype.forEach.call(board.querySelectorAll(CONTROLS), function (el) {
      if (changed(el)) { state[key(el)] = el; }
    });
    return state;
  }
  function offers(select, value) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  }
  function restore(state) {
    Array.prototype.forEach.call(board.querySelectorAll(CONTROLS), function (el) {
      var old = state[key(el)];
      if (!old) { return; }
      if (el.tagName === 'DETAILS') {
        el.open = old.open;
      } else if (el.type === 'radio' || el.type === 'checkbox') {
        el.checked = old.checked;
      } else if (el.tagName !== 'SELECT' || offers(el, old.value)) {
        el.value = old.value;
      }
    });
  }
  function refresh() {
    if (typing()) { pending = true; return; }
    if (loading) { again = true; return; }
    pending = false;
    loading = true;
    // Keep the slot picker's store and day (book, store, date); drop a shown error.
    var query = new w.URLSearchParams(w.location.search);
    query.delete('error');
    query.set('fragment', '1');
    w.fetch('/desk/chats?' + query.toString(), { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      if (typing()) { pending = true; return; }  // the agent began typing meanwhile
      var doc = new w.DOMParser().parseFromString(html, 'text/html');
      var state = kept();
      board.replaceChildren.apply(board, Array.prototype.slice.call(doc.body.childNodes));
      restore(state);
      newest();
      board.setAttribute('data-refreshed', String(Date.now()));
    }).catch(function () { /* the next event refreshes again */ }).then(function () {
      loading = false;
      if (again) { again = false; refresh(); }
    });
  }
  board.addEventListener('focusout', function () { if (pending) { w.setTimeout(refresh, 0); } });
  function connect() {
    var socket = new w.WebSocket(w.location.origin.replace(/^http/, 'ws') + board.getAttribute('data-live'));
    socket.onopen = function () {
      board.setAttribute('data-live-state', 'live');
      // The socket listens from before it opens; catch up on what changed since the board was
      // rendered (first open) or while the socket was down (reconnect): nothing falls between.
      refresh();
    };
    socket.onmessage = refresh;
    socket.onclose = function () { board.setAttribute('data-live-state', 'closed'); w.setTimeout(connect, 2000); };
  }
  connect();
}(window, document));
