/*! kanaal.js: Segment-compatible tracking, next-best-channel widgets and chat. No dependencies. */
(function (w, d) {
  'use strict';
  if (w.kanaal && w.kanaal.version) { return; }
  var VERSION = '1.0.0';
  var script = d.currentScript;
  var cfg = null;
  var queue = [];
  var flushTimer = null;
  var sending = null;
  var attempt = 0;
  var current = null;
  var deciding = false;
  var pendingMoment = null;
  var idleTimer = null;
  var chat = null;

  var TEXT = {
    en: {
      close: 'Close', cbTitle: 'Shall we call you?', cbBody: 'An advisor is free to help you with your order.',
      phone: 'Your phone number', call: 'Call me', cbDone: 'Thank you! We will call you at {phone}.',
      phoneBad: 'Please enter a valid phone number, e.g. +31 6 12345678.',
      wait: 'Expected wait: {wait}.', now: 'less than a minute', mins: 'about {n} minutes', min1: 'about 1 minute',
      phTitle: 'Call an advisor', phBody: 'Our advisors are ready for you.',
      chTitle: 'Questions? Chat with us', chBody: 'Ask us anything about your order.', chOpen: 'Start chat',
      ofTitle: 'An offer for you', ofCode: 'Use code {code} at checkout.',
      chatTitle: 'Chat', msg: 'Your message', send: 'Send', you: 'You', bot: 'Assistant', agent: 'Advisor',
      failed: 'Something went wrong. Please try again.', offline: 'The chat is disconnected.'
    },
    nl: {
      close: 'Sluiten', cbTitle: 'Zullen we u bellen?', cbBody: 'Een adviseur helpt u graag met uw bestelling.',
      phone: 'Uw telefoonnummer', call: 'Bel mij', cbDone: 'Dank u! We bellen u op {phone}.',
      phoneBad: 'Vul een geldig telefoonnummer in, bijv. 06 12345678.',
      wait: 'Verwachte wachttijd: {wait}.', now: 'minder dan een minuut', mins: 'ongeveer {n} minuten',
      min1: 'ongeveer 1 minuut',
      phTitle: 'Bel een adviseur', phBody: 'Onze adviseurs staan voor u klaar.',
      chTitle: 'Vragen? Chat met ons', chBody: 'Vraag ons alles over uw bestelling.', chOpen: 'Start chat',
      ofTitle: 'Een aanbod voor u', ofCode: 'Gebruik code {code} bij het afrekenen.',
      chatTitle: 'Chat', msg: 'Uw bericht', send: 'Verstuur', you: 'U', bot: 'Assistent', agent: 'Adviseur',
      failed: 'Er ging iets mis. Probeer het opnieuw.', offline: 'De chat is niet verbonden.'
    }
  };

  function lang() {
    var l = ((cfg && cfg.lang) || d.documentElement.lang || 'en').toLowerCase().slice(0, 2);
    return TEXT[l] ? l : 'en';
  }
  function t(key, vars) {
    var s = TEXT[lang()][key];
    for (var k in (vars || {})) { s = s.replace('{' + k + '}', vars[k]); }
    return s;
  }
  function uuid() {
    if (w.crypto && w.crypto.randomUUID) { return w.crypto.randomUUID(); }
    var b = new Uint8Array(16); w.crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  function now() { return new Date().toISOString(); }

  // ------------------------------------------------------------ identity and visit state
  function cookie(name, value, days) {
    if (value === undefined) {
      var m = d.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
      return m ? decodeURIComponent(m[1]) : null;
    }
    var secure = w.location.protocol === 'https:' ? '; Secure' : '';
    d.cookie = name + '=' + encodeURIComponent(value) + '; Max-Age=' + days * 86400 +
      '; Path=/; SameSite=Lax' + secure;
    return value;
  }
  function store(key, value) {
    try {
      if (value === undefined) { return JSON.parse(w.sessionStorage.getItem('kanaal.' + key) || 'null'); }
      w.sessionStorage.setItem('kanaal.' + key, JSON.stringify(value));
    } catch (e) { return null; }
    return value;
  }
  function anonymousId() {
    return cookie('kanaal_aid') || cookie('kanaal_aid', uuid(), 365);
  }
  function userId() { return cookie('kanaal_uid'); }
  function visit() {
    var v = store('visit');
    if (!v) {
      v = { started: Date.now(), pageviews: 0, returning: !!cookie('kanaal_seen'), pages: [] };
      cookie('kanaal_seen', '1', 365);
    }
    return v;
  }

  // ------------------------------------------------------------ transport
  function auth() { return 'Basic ' + w.btoa(cfg.writeKey + ':'); }
  function request(method, path, body, extraHeaders) {
    var headers = { 'Content-Type': 'application/json', 'Authorization': auth() };
    for (var k in (extraHeaders || {})) { headers[k] = extraHeaders[k]; }
    return w.fetch(cfg.host + path, {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: 'omit', keepalive: method === 'POST' && !!body && JSON.stringify(body).length < 60000
    }).then(function (r) {
      return r.text().then(function (txt) {
        var data = null;
        try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
        if (!r.ok) {
          var err = new Error((data && data.error && data.error.message) || r.statusText);
          err.status = r.status; err.code = data && data.error && data.error.code;
          throw err;
        }
        return data;
      });
    });
  }
  function enqueue(message) {
    message.messageId = uuid();
    message.anonymousId = anonymousId();
    var uid = userId();
    if (uid) { message.userId = uid; }
    message.timestamp = now();
    message.context = {
      library: { name: 'kanaal.js', version: VERSION },
      page: { path: w.location.pathname, referrer: d.referrer, search: w.location.search,
        title: d.title, url: w.location.href },
      userAgent: w.navigator.userAgent, locale: w.navigator.language
    };
    queue.push(message);
    if (queue.length >= cfg.batchSize) { flush(); } else if (!flushTimer) {
      flushTimer = w.setTimeout(flush, cfg.flushInterval);
    }
  }
  function flush() {
    w.clearTimeout(flushTimer); flushTimer = null;
    // One batch in flight at a time; the promise settles when the queue is sent (or given up).
    if (sending) { return sending.then(flush); }
    if (!queue.length) { return Promise.resolve(); }
    var batch = queue.splice(0, cfg.batchSize);
    sending = request('POST', '/v1/batch', { batch: batch, sentAt: now() }).then(function () {
      sending = null; attempt = 0;
      return queue.length ? flush() : undefined;
    }, function (err) {
      sending = null;
      if (err.status && err.status < 500 && err.status !== 429) {
        if (w.console) { w.console.warn('kanaal: events refused: ' + err.message); }
        return;
      }
      queue = batch.concat(queue);
      attempt += 1;
      if (attempt <= cfg.retries) {
        flushTimer = w.setTimeout(flush, Math.min(30000, 500 * Math.pow(2, attempt)));
      }
    });
    return sending;
  }
  function beacon() {
    if (!queue.length || !w.navigator.sendBeacon) { return; }
    // A beacon cannot carry an Authorization header: the write key goes in the body.
    var body = JSON.stringify({ batch: queue.splice(0), sentAt: now(), writeKey: cfg.writeKey });
    w.navigator.sendBeacon(cfg.host + '/v1/batch', new Blob([body], { type: 'text/plain' }));
  }

  // ------------------------------------------------------------ the Segment calls
  function page(name, properties) {
    var v = visit();
    v.pageviews += 1;
    v.pages.push({ title: d.title, url: w.location.href, at: now() });
    v.pages = v.pages.slice(-10);
    store('visit', v);
    var props = properties || {};
    props.title = props.title || d.title; props.url = props.url || w.location.href;
    props.path = props.path || w.location.pathname;
    enqueue({ type: 'page', name: name || d.title, properties: props });
  }
  function track(event, properties) {
    enqueue({ type: 'track', event: event, properties: properties || {} });
  }
  function identify(id, traits) {
    if (typeof id === 'object' && id !== null) { traits = id; id = null; }
    if (id) { cookie('kanaal_uid', String(id), 365); }
    enqueue({ type: 'identify', traits: traits || {} });
  }

  // ------------------------------------------------------------ decisions
  function cart() { return store('cart'); }
  function setCart(value) {
    store('cart', value);
    decide('cart_change');
  }
  function pageType() {
    return cfg.pageType || (d.body && d.body.getAttribute('data-kanaal-page')) || 'other';
  }
  function decided() {
    deciding = false;
    // A moment that came while a decision was in flight (e.g. a cart change) is asked next.
    if (pendingMoment && !current) { var next = pendingMoment; pendingMoment = null; decide(next); }
  }
  function decide(moment) {
    if (deciding && !current) { pendingMoment = moment || 'manual'; }
    if (deciding || current || !cfg) { return Promise.resolve(null); }
    deciding = true;
    var v = visit();
    var c = cart();
    var context = {
      page: { type: pageType(), url: w.location.href.slice(0, 2000) },
      session: { pageviews: v.pageviews, seconds_on_site: Math.round((Date.now() - v.started) / 1000),
        is_returning: v.returning }
    };
    if (c && c.items && c.items.length) { context.cart = c; }
    var sku = d.body && d.body.getAttribute('data-kanaal-sku');
    if (sku) { context.product = { sku: sku }; }
    var body = { anonymousId: anonymousId(), channel: cfg.channel, context: context };
    if (userId()) { body.userId = userId(); }
    if (cfg.allowedActions) { body.allowed_actions = cfg.allowedActions; }
    return request('POST', '/v1/decisions', body).then(function (decision) {
      decision.moment = moment;
      emit('decision', decision);
      render(decision);
      decided();
      return decision;
    }, function (err) {
      decided();
      if (w.console) { w.console.warn('kanaal: no decision: ' + err.message); }
      return null;
    });
  }
  function outcome(decision, event) {
    return request('POST', '/v1/decisions/' + encodeURIComponent(decision.decision_id) + '/outcome',
      { event: event }, { 'Idempotency-Key': decision.decision_id + '-' + event })
      .then(function (r) { emit('outcome', { decision: decision, event: event }); return r; },
        function () { return null; });
  }

  // ------------------------------------------------------------ widgets
  function el(tag, attrs, children) {
    var node = d.createElement(tag);
    for (var k in (attrs || {})) {
      if (k === 'text') { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    }
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }
  function waitText(seconds) {
    if (seconds === null || seconds === undefined) { return null; }
    if (seconds < 60) { return t('wait', { wait: t('now') }); }
    var n = Math.round(seconds / 60);
    return t('wait', { wait: n === 1 ? t('min1') : t('mins', { n: n }) });
  }
  function shell(kind, decision, title, body) {
    var id = 'kanaal-' + kind + '-title';
    var box = el('aside', { 'class': 'kanaal-widget kanaal-' + kind, role: 'dialog', 'aria-modal': 'false',
      'aria-labelledby': id, 'data-kanaal-widget': kind, 'data-decision-id': decision.decision_id,
      lang: lang(), tabindex: '-1' });
    var close = el('button', { type: 'button', 'class': 'kanaal-close', 'aria-label': t('close'), text: '\u00d7' });
    close.addEventListener('click', function () { dismiss(); });
    box.addEventListener('keydown', function (e) { if (e.key === 'Escape') { dismiss(); } });
    box.appendChild(close);
    box.appendChild(el('h2', { id: id, 'class': 'kanaal-title', text: title }));
    if (body) { box.appendChild(el('p', { 'class': 'kanaal-text', text: body })); }
    return box;
  }
  function show(kind, decision, box) {
    current = { kind: kind, decision: decision, node: box };
    d.body.appendChild(box);
    box.focus();
    outcome(decision, 'shown');
    emit('shown', { kind: kind, decision: decision });
  }
  function dismiss() {
    if (!current) { return; }
    var was = current;
    current = null;
    was.node.parentNode.removeChild(was.node);
    if (!was.done) { outcome(was.decision, 'dismissed'); }
    emit('dismissed', { kind: was.kind, decision: was.decision });
  }
  function validPhone(value) {
    var digits = value.replace(/\D/g, '');
    return /^\+?[0-9 ()\-.]+$/.test(value.trim()) && digits.length >= 8 && digits.length <= 15;
  }
  function callbackWidget(decision) {
    var a = decision.action;
    var box = shell('callback', decision, t('cbTitle'), t('cbBody'));
    var wait = waitText(a.predicted_wait_seconds);
    if (wait) { box.appendChild(el('p', { 'class': 'kanaal-wait', text: wait })); }
    var input = el('input', { id: 'kanaal-phone', type: 'tel', name: 'phone', autocomplete: 'tel',
      required: 'required', maxlength: '40', 'aria-describedby': 'kanaal-phone-error' });
    var error = el('p', { id: 'kanaal-phone-error', 'class': 'kanaal-error', role: 'alert' });
    var button = el('button', { type: 'submit', 'class': 'kanaal-button', text: t('call') });
    var form = el('form', { 'class': 'kanaal-form', novalidate: 'novalidate' }, [
      el('label', { 'for': 'kanaal-phone', text: t('phone') }), input, error, button]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      error.textContent = '';
      input.removeAttribute('aria-invalid');
      if (!validPhone(input.value)) {
        error.textContent = t('phoneBad'); input.setAttribute('aria-invalid', 'true'); input.focus();
        return;
      }
      button.disabled = true;
      var v = visit();
      request('POST', '/v1/touchpoints/callbacks', {
        anonymousId: anonymousId(), userId: userId() || undefined, phone: input.value,
        decision_id: decision.decision_id, queue: a.queue, cart: cart() || undefined,
        pages: v.pages, lang: lang()
      }, { 'Idempotency-Key': decision.decision_id + '-callback' }).then(function (cb) {
        if (current) { current.done = true; }
        outcome(decision, 'accepted');
        form.parentNode.replaceChild(el('p', { 'class': 'kanaal-done', role: 'status',
          text: t('cbDone', { phone: cb.phone }) }), form);
        emit('callback', cb);
      }, function (err) {
        button.disabled = false;
        error.textContent = err.code === 'invalid_phone' ? t('phoneBad') : (err.message || t('failed'));
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      });
    });
    box.appendChild(form);
    show('callback', decision, box);
  }
  function phoneWidget(decision) {
    var box = shell('phone', decision, t('phTitle'), t('phBody'));
    var number = cfg.phoneNumber || '';
    box.appendChild(el('p', { 'class': 'kanaal-number' }, [el('a', {
      href: 'tel:' + number.replace(/[^+0-9]/g, ''), text: number, 'class': 'kanaal-button' })]));
    var wait = waitText(decision.action.predicted_wait_seconds);
    if (wait) { box.appendChild(el('p', { 'class': 'kanaal-wait', text: wait })); }
    box.querySelector('a').addEventListener('click', function () { if (current) { current.done = true; } outcome(decision, 'accepted'); });
    show('phone', decision, box);
  }
  function chatInviteWidget(decision) {
    var box = shell('chat-invite', decision, t('chTitle'), t('chBody'));
    var wait = waitText(decision.action.predicted_wait_seconds);
    if (wait) { box.appendChild(el('p', { 'class': 'kanaal-wait', text: wait })); }
    var open = el('button', { type: 'button', 'class': 'kanaal-button', text: t('chOpen') });
    open.addEventListener('click', function () {
      if (current) { current.done = true; }
      outcome(decision, 'accepted');
      dismiss();
      openChat();
    });
    box.appendChild(open);
    show('chat-invite', decision, box);
  }
  function offerWidget(decision) {
    var a = decision.action;
    var box = shell('offer', decision, t('ofTitle'), a.message || '');
    if (a.offer_code) {
      box.appendChild(el('p', { 'class': 'kanaal-code', text: t('ofCode', { code: a.offer_code }) }));
      store('offer', { code: a.offer_code, decision_id: decision.decision_id });
    }
    show('offer', decision, box);
  }
  function render(decision) {
    var type = decision.action && decision.action.type;
    if (type === 'callback_offer') { callbackWidget(decision); } else if (type === 'show_phone' || type === 'call_now') {
      if (cfg.phoneNumber) { phoneWidget(decision); }
    } else if (type === 'chat_invite') { chatInviteWidget(decision); } else if (type === 'offer') { offerWidget(decision); }
  }

  // ------------------------------------------------------------ chat
  function openChat() {
    if (chat) { chat.input.focus(); return chat; }
    var log = el('ol', { 'class': 'kanaal-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('chatTitle') });
    var input = el('input', { id: 'kanaal-chat-input', type: 'text', maxlength: String(cfg.chatMaxLength),
      autocomplete: 'off' });
    var error = el('p', { 'class': 'kanaal-error', role: 'alert', id: 'kanaal-chat-error' });
    var form = el('form', { 'class': 'kanaal-form kanaal-chat-form' }, [
      el('label', { 'for': 'kanaal-chat-input', text: t('msg') }), input,
      el('button', { type: 'submit', 'class': 'kanaal-button', text: t('send') }), error]);
    var box = el('aside', { 'class': 'kanaal-widget kanaal-chat', role: 'dialog', 'aria-modal': 'false',
      'aria-labelledby': 'kanaal-chat-title', 'data-kanaal-widget': 'chat', lang: lang() });
    var close = el('button', { type: 'button', 'class': 'kanaal-close', 'aria-label': t('close'), text: '\u00d7' });
    box.appendChild(close);
    box.appendChild(el('h2', { id: 'kanaal-chat-title', 'class': 'kanaal-title', text: t('chatTitle') }));
    box.appendChild(log); box.appendChild(form);
    d.body.appendChild(box);
    chat = { box: box, log: log, input: input, error: error, socket: null, status: 'connecting' };
    // Messages sent while the socket is connecting (or reconnecting) go out once it opens.
    var unsent = [];
    var socket = null;
    // A socket closed with 1013 ("try again later": it fell behind the live changes) is
    // reopened on the same conversation, a few times with backoff; its history then rebuilds
    // the log, so no line shows twice.
    var retries = 0;
    var resuming = false;
    var reconnect = null;
    // Closing the chat window ends the conversation (its transcript goes to the timeline), in
    // whatever state the socket is: over it when it is open; once it opens when it is opening;
    // over HTTP when there is none (closed, or waiting to reconnect).
    var ending = false;
    function connect() {
      var resumes = store('chat');
      var url = cfg.host.replace(/^http/, 'ws') + '/v1/chat/ws?key=' + encodeURIComponent(cfg.writeKey) +
        '&anonymousId=' + encodeURIComponent(anonymousId()) + '&lang=' + lang() +
        (resumes ? '&conversation=' + encodeURIComponent(resumes) : '');
      var own = new w.WebSocket(url);
      var welcomed = false;
      socket = own;
      chat.socket = own;
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
          store('chat', data.conversation_id); chat.status = data.status;
          if (resuming) { resuming = false; log.textContent = ''; }
        }
        if (data.type === 'message') { addLine(data.sender, data.body); }
        if (data.type === 'status') { chat.status = data.status; box.setAttribute('data-status', data.status); }
        if (data.type === 'error') { error.textContent = data.message; }
        emit('chat', data);
      };
      own.onclose = function (e) {
        if (ending) {
          // An opening socket that never welcomed us: end the conversation it resumed over HTTP.
          if (!welcomed && resumes) { endChat(resumes); }
          return;
        }
        if (!chat || chat.box !== box) { return; }
        if (e.code === 1013 && retries < 3) {
          resuming = true;
          reconnect = w.setTimeout(function () {
            reconnect = null;
            if (chat && chat.box === box) { connect(); }
          }, 500 * Math.pow(2, retries));
          retries += 1;
          return;
        }
        resuming = false;
        // A message that never went out is given back to the visitor, not silently dropped.
        if (unsent.length && !input.value) { input.value = unsent.join(' '); }
        unsent = [];
        if (!error.textContent) { error.textContent = t('offline'); }
      };
    }
    connect();
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      error.textContent = '';
      var text = input.value.trim();
      if (!text) { return; }
      if (socket.readyState === 0 || resuming) { unsent.push(text); input.value = ''; return; }
      if (socket.readyState !== 1) { error.textContent = t('offline'); return; }
      socket.send(JSON.stringify({ type: 'message', body: text }));
      input.value = '';
    });
    close.addEventListener('click', function () {
      ending = true;
      w.clearTimeout(reconnect); reconnect = null;
      if (socket.readyState === 1) {
        socket.send(JSON.stringify({ type: 'close' })); socket.close();
      } else if (socket.readyState !== 0 && store('chat')) {
        endChat(store('chat'));
      }
      store('chat', null); box.parentNode.removeChild(box); chat = null;
    });
    input.focus();
    return chat;
  }
  // Ends the visitor's conversation without its socket; `keepalive` lets it finish when the page
  // goes away, and a plain-text body with the key in it needs no CORS preflight. Retried (the
  // server answers a repeat the same) when the network or the server fails.
  function endChat(conversationId, tries) {
    var n = tries || 0;
    var body = JSON.stringify({ writeKey: cfg.writeKey, anonymousId: anonymousId() });
    var again = function () { if (n < 3) { w.setTimeout(function () { endChat(conversationId, n + 1); }, 500 * Math.pow(2, n)); } };
    return w.fetch(cfg.host + '/v1/chat/conversations/' + encodeURIComponent(conversationId) + '/close', {
      method: 'POST', headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, body: body,
      credentials: 'omit', keepalive: true
    }).then(function (r) {
      if (r.status >= 500 || r.status === 429) { again(); } else if (!r.ok && w.console) { w.console.warn('kanaal: the chat was not ended: ' + r.status); }
    }, again);
  }
  function addLine(sender, body) {
    var who = { visitor: t('you'), bot: t('bot'), agent: t('agent') }[sender] || '';
    chat.log.appendChild(el('li', { 'class': 'kanaal-line kanaal-from-' + sender, 'data-sender': sender }, [
      el('span', { 'class': 'kanaal-who', text: who }), el('span', { 'class': 'kanaal-body', text: body })]));
    chat.log.scrollTop = chat.log.scrollHeight;
  }

  // ------------------------------------------------------------ moments and events
  var listeners = {};
  function on(name, fn) { (listeners[name] = listeners[name] || []).push(fn); }
  function emit(name, data) {
    (listeners[name] || []).forEach(function (fn) { try { fn(data); } catch (e) { /* a listener's error is its own */ } });
  }
  function resetIdle() {
    w.clearTimeout(idleTimer);
    idleTimer = w.setTimeout(function () { decide('idle'); }, cfg.idleSeconds * 1000);
  }
  function checkoutError(reason) {
    track('Checkout Error', { reason: String(reason || '') });
    // The decision should see the error on the timeline: send it first.
    return flush().then(function () { return decide('checkout_error'); });
  }
  function validateOffer(code) {
    return request('POST', '/v1/touchpoints/offer-codes/validate', { code: code, anonymousId: anonymousId() });
  }

  function load(writeKey, options) {
    if (cfg) { return api; }
    var o = options || {};
    var origin = script && script.src ? new URL(script.src).origin : w.location.origin;
    cfg = {
      writeKey: writeKey, host: (o.host || origin).replace(/\/$/, ''), channel: o.channel || 'web',
      lang: o.lang, pageType: o.pageType, phoneNumber: o.phoneNumber || null,
      allowedActions: o.allowedActions || null, batchSize: o.batchSize || 20,
      flushInterval: o.flushInterval || 1000, retries: o.retries === undefined ? 5 : o.retries,
      idleSeconds: o.idleSeconds || 45, chatMaxLength: o.chatMaxLength || 2000,
      decideOnLoad: o.decideOnLoad !== false, stylesheet: o.stylesheet !== false
    };
    if (cfg.stylesheet && !d.querySelector('link[data-kanaal]')) {
      d.head.appendChild(el('link', { rel: 'stylesheet', href: cfg.host + '/sdk/widgets.css', 'data-kanaal': '1' }));
    }
    anonymousId();
    if (o.page !== false) { page(); }
    w.addEventListener('pagehide', beacon);
    d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') { beacon(); } });
    ['mousemove', 'keydown', 'scroll', 'touchstart'].forEach(function (n) {
      w.addEventListener(n, resetIdle, { passive: true });
    });
    d.addEventListener('mouseout', function (e) {
      if (!e.relatedTarget && e.clientY <= 0) { decide('exit_intent'); }
    });
    resetIdle();
    if (cfg.decideOnLoad) { decide('page_load'); }
    return api;
  }

  var api = {
    version: VERSION, load: load, page: page, track: track, identify: identify, decide: decide,
    setCart: setCart, cart: cart, checkoutError: checkoutError, validateOffer: validateOffer,
    openChat: openChat, dismiss: dismiss, flush: flush, on: on,
    anonymousId: function () { return anonymousId(); }
  };
  w.kanaal = api;
  // `<script src=".../sdk/kanaal.js" data-write-key="wk_...">` loads itself (no inline script needed).
  if (script && script.getAttribute('data-write-key')) {
    var ds = script.dataset;
    var go = function () {
      load(ds.writeKey, { lang: ds.lang, phoneNumber: ds.phoneNumber, channel: ds.channel,
        idleSeconds: ds.idleSeconds ? Number(ds.idleSeconds) : undefined,
        flushInterval: ds.flushInterval ? Number(ds.flushInterval) : undefined });
    };
    if (d.readyState === 'loading') { d.addEventListener('DOMContentLoaded', go); } else { go(); }
  }
}(window, document));
