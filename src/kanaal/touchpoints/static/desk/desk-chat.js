/* The desk's chat board: refreshed on every live chat event, without losing a typed reply. */
(function (w, d) {
  'use strict';
  var board = d.getElementById('chat-board');
  if (!board) { return; }
  var pending = false;
  function newest() {
    Array.prototype.forEach.call(board.querySelectorAll('.chat-log'), function (log) {
      log.scrollTop = log.scrollHeight;
    });
  }
  newest();
  function typing() {
    var a = d.activeElement;
    return a && board.contains(a) && a.tagName === 'INPUT' && a.value;
  }
  function refresh() {
    if (typing()) { pending = true; return; }
    pending = false;
    // Keep the slot picker's store and day (book, store, date); drop a shown error.
    var query = new w.URLSearchParams(w.location.search);
    query.delete('error');
    query.set('fragment', '1');
    w.fetch('/desk/chats?' + query.toString(), { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      var doc = new w.DOMParser().parseFromString(html, 'text/html');
      board.replaceChildren.apply(board, Array.prototype.slice.call(doc.body.childNodes));
      newest();
      board.setAttribute('data-refreshed', String(Date.now()));
    });
  }
  board.addEventListener('focusout', function () { if (pending) { w.setTimeout(refresh, 0); } });
  function connect() {
    var socket = new w.WebSocket(w.location.origin.replace(/^http/, 'ws') + board.getAttribute('data-live'));
    socket.onopen = function () { board.setAttribute('data-live-state', 'live'); };
    socket.onmessage = refresh;
    socket.onclose = function () { board.setAttribute('data-live-state', 'closed'); w.setTimeout(connect, 2000); };
  }
  connect();
}(window, document));
