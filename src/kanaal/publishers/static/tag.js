/* Kanaal publisher tag: <script src="https://kanaal.example/publisher/tag.js" async
   data-campaign="test-drive" data-key="WRITE_KEY" data-segment="in-market"
   data-score="0.8" data-page-type="review"></script>
   Asks Kanaal whether to invite this reader now and renders the invitation: the tracked
   number, a callback, a chat with an expert (Kanaal's chat, as in kanaal.js) or a booking. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src).origin;
  var cfg = script.dataset;
  var auth = 'Basic ' + btoa(cfg.key + ':');

  function anonymousId() {
    var id = null;
    try { id = window.localStorage.getItem('kanaal_pid'); } catch (e) { id = null; }
    if (!id) {
      id = 'pub-' + Math.random().toString(36).slice(2) + Date.now().toString(36);
      try { window.localStorage.setItem('kanaal_pid', id); } catch (e) { /* private mode */ }
    }
    return id;
  }
  function call(method, path, body, key) {
    var headers = { 'Authorization': auth, 'Content-Type': 'application/json' };
    if (key) { headers['Idempotency-Key'] = key; }
    return fetch(base + path, {
      method: method, headers: headers,
      body: body ? JSON.stringify(body) : undefined, keepalive: method === 'POST'
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error((data.error && data.error.message) || 'request failed'); }
        return data;
      });
    });
  }
  // The chat's conversation and its invitation, kept for the tab (per Kanaal host and campaign),
  // so a reload in the middle of a chat resumes it with its history, as kanaal.js does.
  var kept = 'kanaal.tag.chat ' + base + ' ' + cfg.campaign;
  function keptChat(value) {
    try {
      if (value === undefined) { return JSON.parse(window.sessionStorage.getItem(kept) || 'null'); }
      if (value === null) { window.sessionStorage.removeItem(kept); } else {
        window.sessionStorage.setItem(kept, JSON.stringify(value));
      }
    } catch (e) { return null; }
    return value;
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join('');
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }
  var css = '.kp-box{position:fixed;right:16px;bottom:16px;width:320px;background:#fff;' +
    'border:1px solid #c9d3dd;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.15);' +
    'padding:16px;font:15px/1.4 system-ui,sans-serif;color:#1b1b1b;z-index:2147483000}' +
    '.kp-box h2{font-size:18px;margin:0 0 6px}.kp-box p{margin:0 0 10px}' +
    '.kp-box a.kp-call,.kp-box button{display:inline-block;background:#0b5fff;color:#fff;' +
    'border:0;border-radius:6px;padding:8px 12px;margin:4px 4px 4px 0;font:inherit;' +
    'text-decoration:none;cursor:pointer}.kp-box label{display:block;margin:6px 0 2px}' +
    '.kp-box input,.kp-box select{width:100%;box-sizing:border-box;padding:6px;font:inherit}' +
    '.kp-box .kp-close{position:absolute;right:8px;top:6px;background:none;color:#555;' +
    'padding:2px 6px}.kp-box [role=alert]{color:#a40000}' +
    '.kp-log{list-style:none;margin:0 0 8px;padding:0;max-height:220px;overflow-y:auto}' +
    '.kp-log li{margin:4px 0}.kp-log .kp-who{font-weight:600;margin-right:6px}';

  function render(inv, visitor, resume) {
    var style = el('style'); style.textContent = css; document.head.appendChild(style);
    var box = el('aside', { 'class': 'kp-box', 'role': 'dialog', 'aria-label': inv.headline,
                            'data-kanaal-invitation': inv.campaign });
    var close = el('button', { 'class': 'kp-close', 'aria-label': 'Close' }, '×');
    close.onclick = function () {
      // Closing the invitation ends its chat (its transcript goes to the timeline).
      if (box.kanaalEnd) { box.kanaalEnd(); }
      box.remove();
    };
    box.appendChild(close);
    box.appendChild(el('h2', {}, inv.headline));
    box.appendChild(el('p', {}, inv.body));
    var click = function (target) {
      return call('POST', '/v1/publisher/clicks',
                  { campaign: inv.campaign, decision_id: inv.decision_id, target: target });
    };
    if (inv.channel && inv.channel.type === 'phone') {
      var tel = el('a', { 'class': 'kp-call', href: 'tel:' + inv.channel.number },
                   'Call ' + inv.channel.number);
      tel.onclick = function () { click('phone'); };
      box.appendChild(tel);
    }
    if (inv.channel && inv.channel.type === 'callback') {
      var cb = el('button', {}, 'Call me back');
      cb.onclick = function () {
        var phone = window.prompt('Your phone number');
        if (!phone) { return; }
        click('callback');
        call('POST', '/v1/publisher/callbacks', { campaign: inv.campaign,
          decision_id: inv.decision_id, anonymousId: visitor, phone: phone })
          .then(function () { cb.replaceWith(el('p', { role: 'status' }, 'We will call you soon.')); })
          .catch(function (e) { box.appendChild(el('p', { role: 'alert' }, e.message)); });
      };
      box.appendChild(cb);
    }
    if (inv.channel && inv.channel.type === 'chat' && !resume) {
      var start = el('button', {}, 'Chat with an expert');
      start.onclick = function () { click('chat'); start.remove(); chat(box, inv, visitor, null); };
      box.appendChild(start);
    }
    if (inv.appointments) {
      var book = el('button', {}, 'Book an appointment');
      book.onclick = function () { click('appointment'); book.remove(); booking(box, inv, visitor); };
      box.appendChild(book);
    }
    document.body.appendChild(box);
    if (resume) { chat(box, inv, visitor, resume); }
  }

  function booking(box, inv, visitor) {
    var form = el('form', { 'aria-label': 'Book an appointment' });
    var day = el('input', { type: 'date', id: 'kp-day' });
    var slot = el('select', { id: 'kp-slot' });
    var name = el('input', { id: 'kp-name', autocomplete: 'name' });
    var email = el('input', { id: 'kp-email', type: 'email', autocomplete: 'email' });
    var error = el('p', { role: 'alert' });
    [['kp-day', 'Day', day], ['kp-slot', 'Time', slot], ['kp-name', 'Your name', name],
     ['kp-email', 'Your e-mail', email]].forEach(function (f) {
      form.appendChild(el('label', { 'for': f[0] }, f[1])); form.appendChild(f[2]);
    });
    form.appendChild(el('button', { type: 'submit' }, 'Confirm'));
    form.appendChild(error);
    var asked = 0;  // only the answer for the latest day asked shows: one change, one list
    day.onchange = function () {
      var mine = ++asked;
      slot.innerHTML = '';
      call('GET', '/v1/publisher/campaigns/' + encodeURIComponent(inv.campaign) +
           '/slots?date=' + day.value).then(function (data) {
        if (mine !== asked) { return; }
        slot.replaceChildren.apply(slot, data.slots.map(function (s) {
          return el('option', { value: s }, s.slice(11, 16) + ' UTC');
        }));
        if (!data.slots.length) { error.textContent = 'No free times on this day.'; }
        else { error.textContent = ''; }
      }).catch(function (e) { if (mine === asked) { error.textContent = e.message; } });
    };
    var sent = null;  // [request text, Idempotency-Key]: a resubmit of the same form reuses the key
    form.onsubmit = function (event) {
      event.preventDefault();
      var request = { campaign: inv.campaign, anonymousId: visitor, decision_id: inv.decision_id,
        slot_start: slot.value, name: name.value, email: email.value };
      var text = JSON.stringify(request);
      if (!sent || sent[0] !== text) { sent = [text, newKey()]; }
      call('POST', '/v1/publisher/appointments', request, sent[1]).then(function (a) {
        form.replaceWith(el('p', { role: 'status' }, 'Booked for ' + a.slot_start.slice(0, 10) +
          ' at ' + a.slot_start.slice(11, 16) + ' UTC. A confirmation is on its way to ' +
          email.value + '.'));
      }).catch(function (e) { error.textContent = e.message; });
    };
    box.appendChild(form);
  }

  // Ends the reader's conversation without its socket; `keepalive` lets it finish when the page
  // goes away, and a plain-text body with the key in it needs no CORS preflight. Retried (the
  // server answers a repeat the same) when the network or the server fails.
  function endChat(conversation, visitor, tries) {
    var n = tries || 0;
    var again = function () {
      if (n < 3) { setTimeout(function () { endChat(conversation, visitor, n + 1); }, 500 * Math.pow(2, n)); }
    };
    return fetch(base + '/v1/chat/conversations/' + encodeURIComponent(conversation) + '/close', {
      method: 'POST', headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ writeKey: cfg.key, anonymousId: visitor }), credentials: 'omit',
      keepalive: true
    }).then(function (r) { if (r.status >= 500 || r.status === 429) { again(); } }, again);
  }

  // The Kanaal chat over its WebSocket, as the web SDK (kanaal.js) opens it; the publisher's
  // visitor id keeps the conversation on the same customer as the invitation. `resume` is the
  // conversation to go on with (after a reload).
  function chat(box, inv, visitor, resume) {
    var lang = (document.documentElement.lang || navigator.language || 'en').slice(0, 2);
    var log = el('ol', { 'class': 'kp-log', role: 'log', 'aria-live': 'polite',
                         'aria-label': 'Chat' });
    var form = el('form', { 'aria-label': 'Chat', 'data-kanaal-chat': 'connecting' });
    var input = el('input', { id: 'kp-chat-input', autocomplete: 'off', maxlength: '2000' });
    var error = el('p', { role: 'alert' });
    form.appendChild(log);
    form.appendChild(el('label', { 'for': 'kp-chat-input' }, 'Your message'));
    form.appendChild(input);
    form.appendChild(el('button', { type: 'submit' }, 'Send'));
    form.appendChild(error);
    box.appendChild(form);
    var names = { visitor: 'You', bot: 'Assistant', agent: 'Expert' };
    // Messages sent while the socket is connecting (or reconnecting) go out once it opens.
    var unsent = [];
    var socket = null;
    // A socket closed with 1013 ("try again later": it fell behind the live changes) is
    // reopened on the same conversation, a few times with backoff; its history then rebuilds
    // the log, so no line shows twice.
    var conversation = resume;
    var retries = 0;
    var resuming = false;
    var reconnect = null;
    // Closing the box ends the conversation in whatever state the socket is: over it when it is
    // open; once it opens when it is opening; over HTTP when there is none (closed, or waiting
    // to reconnect).
    var ending = false;
    function connect() {
      var resumes = conversation;
      var welcomed = false;
      var own = new WebSocket(base.replace(/^http/, 'ws') + '/v1/chat/ws?key=' +
        encodeURIComponent(cfg.key) + '&anonymousId=' + encodeURIComponent(visitor) +
        '&lang=' + encodeURIComponent(lang) +
        (resumes ? '&conversation=' + encodeURIComponent(resumes) : ''));
      socket = own;
      box.kanaalChat = own;
      own.onopen = function () {
        if (ending) { return; }
        unsent.forEach(function (text) { own.send(JSON.stringify({ type: 'message', body: text })); });
        unsent = [];
      };
      own.onmessage = function (m) {
        var data = JSON.parse(m.data);
        if (data.type === 'welcome') { welcomed = true; }
        if (ending) {
          if (data.type === 'welcome') { own.send(JSON.stringify({ type: 'close' })); own.close(); }
          return;
        }
        if (data.type === 'welcome') {
          conversation = data.conversation_id;
          keptChat({ conversation: conversation, invitation: inv });
          if (resuming) { resuming = false; log.textContent = ''; }
        }
        // An ended chat is not reopened by a reload.
        if (data.status === 'closed') { keptChat(null); }
        if (data.type === 'welcome' || data.type === 'status') {
          form.setAttribute('data-kanaal-chat', data.status);
        }
        if (data.type === 'message') {
          var line = el('li', { 'data-sender': data.sender });
          line.appendChild(el('span', { 'class': 'kp-who' }, names[data.sender] || ''));
          line.appendChild(el('span', {}, data.body));
          log.appendChild(line);
          log.scrollTop = log.scrollHeight;
        }
        if (data.type === 'error') { error.textContent = data.message; }
      };
      own.onclose = function (e) {
        if (ending) {
          // An opening socket that never welcomed us: end the conversation it resumed over HTTP.
          if (!welcomed && resumes) { endChat(resumes, visitor); }
          return;
        }
        if (e.code === 1013 && retries < 3) {
          resuming = true;
          reconnect = setTimeout(function () { reconnect = null; connect(); },
                                 500 * Math.pow(2, retries));
          retries += 1;
          return;
        }
        resuming = false;
        // A message that never went out is given back to the reader, not silently dropped.
        if (unsent.length && !input.value) { input.value = unsent.join(' '); }
        unsent = [];
        if (!error.textContent) { error.textContent = 'The chat is disconnected.'; }
      };
    }
    connect();
    form.onsubmit = function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) { return; }
      if (socket.readyState === 0 || resuming) { unsent.push(text); input.value = ''; return; }
      if (socket.readyState !== 1) { error.textContent = 'The chat is disconnected.'; return; }
      socket.send(JSON.stringify({ type: 'message', body: text }));
      input.value = '';
    };
    box.kanaalEnd = function () {
      ending = true;
      clearTimeout(reconnect); reconnect = null;
      keptChat(null);
      if (socket.readyState === 1) {
        socket.send(JSON.stringify({ type: 'close' })); socket.close();
      } else if (socket.readyState !== 0 && conversation) {
        endChat(conversation, visitor);
      }
    };
    if (!resume) { input.focus(); }
  }

  var visitor = anonymousId();
  // A reader who reloads in the middle of a chat goes on with it (not asked to a new one).
  var going = keptChat();
  if (going && going.conversation && going.invitation) {
    window.kanaalInvitation = going.invitation;
    var goOn = function () { render(going.invitation, visitor, going.conversation); };
    if (document.body) { goOn(); } else { document.addEventListener('DOMContentLoaded', goOn); }
    return;
  }
  var context = { segment: cfg.segment || null, page: { type: cfg.pageType || 'article',
    url: window.location.href }, keywords: (cfg.keywords || '').split(',').filter(Boolean) };
  if (cfg.score) { context.score = Number(cfg.score); }
  call('POST', '/v1/publisher/invitations', { campaign: cfg.campaign, anonymousId: visitor,
                                             context: context })
    .then(function (inv) {
      window.kanaalInvitation = inv;
      if (inv.show) { render(inv, visitor); }
    })
    .catch(function (e) { window.kanaalInvitation = { show: false, reason: e.message }; });
}());
