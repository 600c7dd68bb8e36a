// live.js keeps a signed-in member's page current with their live
// notifications. No dependencies, no build step; it runs under the app's
// Content-Security-Policy (script-src 'self': it is a same-origin file, and
// it never evaluates strings as code).
//
// The web app loads it (deferred) on the pages of signed-in members when it
// has the inbox, and describes the connection on <body>:
//
//   data-live-base  the tenant's base path: "" on its own host, "/t/{slug}"
//   data-live-seq   the seq of the member's newest notification when the
//                   page was made (absent when unknown)
//
// It opens a WebSocket to <base>/notifications/live?after=<seq> (the
// session cookie authenticates it; see docs/notifications.md for the
// messages) and:
//
//   - keeps the highest seq it has received, and after a drop reconnects
//     with it (backing off 1 s, 2 s, 4 s … up to a minute, with jitter), so
//     the server resends exactly what it missed: nothing twice, nothing lost;
//   - on {"type":"heartbeat","unread":N} sets the bell's badge
//     ([data-testid=unread-count], hidden at 0); on each new notification
//     adds one to it (the heartbeat that follows a backlog corrects it);
//   - on a notification of kind "coins" whose data carries a balance,
//     rewrites the header balance ([data-testid=header-balance]);
//   - shows the notification's text in the toast ([data-testid=live-toast],
//     a role="status" live region) as a link ([data-testid=live-toast-link])
//     to <base>/notifications/{id}/open?seq={seq}, which marks it read and
//     goes to its page (or to the list when it has no page in the app);
//   - on the first page of /notifications (the list carries
//     data-live-prepend) puts the notification on top of the list, built
//     like the server's items, and raises the "Mark all as read" form's
//     up_to_seq to it.
//
// Text from the server only ever goes into the page through textContent,
// and only paths of the app ("/…", not "//…", no backslash, spaces or dot
// segments) become links. It stops, and closes the connection, as soon as
// the page no longer shows the bell (the member signed out in place), and
// stops reconnecting when the server closes with 4401 (the session ended:
// signed out elsewhere, revoked or banned).
(function () {
  'use strict';

  var body = document.body;
  if (!body || !body.hasAttribute('data-live-base') || !('WebSocket' in window)) {
    return;
  }
  var base = body.getAttribute('data-live-base') || '';
  var seq = parseInt(body.getAttribute('data-live-seq') || '', 10);
  if (!(seq >= 0)) {
    seq = -1; // unknown: take what commits from now on
  }

  var MIN_DELAY = 1000;
  var MAX_DELAY = 60000;
  var TOAST_MS = 10000;
  var SESSION_ENDED = 4401; // the server closes with it when the session has ended
  var ws = null;
  var delay = MIN_DELAY;
  var retryTimer = 0;
  var toastTimer = 0;
  var stopped = false;

  function byTestID(id) {
    return document.querySelector('[data-testid="' + id + '"]');
  }

  // signedIn reports whether the page still shows the bell.
  function signedIn() {
    return byTestID('header-notifications') !== null;
  }

  function connect() {
    retryTimer = 0;
    if (stopped) {
      return;
    }
    if (!signedIn()) {
      stop();
      return;
    }
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
      base + '/notifications/live' + (seq >= 0 ? '?after=' + seq : '');
    try {
      ws = new WebSocket(url);
    } catch (e) {
      ws = null;
      retry();
      return;
    }
    ws.onmessage = function (ev) {
      delay = MIN_DELAY; // the connection works: the next drop starts over
      receive(ev.data);
    };
    ws.onclose = function (ev) {
      ws = null;
      if (ev.code === SESSION_ENDED) {
        stop(); // signed out elsewhere, or banned: reconnecting cannot help
        return;
      }
      retry();
    };
  }

  function retry() {
    if (stopped || retryTimer) {
      return;
    }
    var wait = delay / 2 + Math.random() * delay / 2;
    delay = Math.min(delay * 2, MAX_DELAY);
    retryTimer = setTimeout(connect, wait);
  }

  function stop() {
    stopped = true;
    clearTimeout(retryTimer);
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
      ws = null;
    }
  }

  function receive(data) {
    var m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!m || typeof m !== 'object') {
      return;
    }
    if (!signedIn()) {
      stop();
      return;
    }
    if (m.type === 'heartbeat' && typeof m.unread === 'number') {
      setUnread(m.unread);
    } else if (m.type === 'notification' && m.notification && typeof m.notification.seq === 'number') {
      notification(m.notification);
    }
  }

  function notification(n) {
    if (n.seq <= seq) {
      return; // seen already
    }
    seq = n.seq;
    var badge = byTestID('unread-count');
    if (badge) {
      setUnread((parseInt(badge.textContent, 10) || 0) + 1);
    }
    if (n.kind === 'coins' && n.data && typeof n.data.balance === 'number') {
      setBalance(n.data.balance);
    }
    toast(n);
    prepend(n);
  }

  function setUnread(count) {
    var badge = byTestID('unread-count');
    if (badge) {
      badge.textContent = String(count);
      badge.hidden = count <= 0;
    }
  }

  // setBalance writes a balance as the server does: "1 coin", "1,250 coins".
  function setBalance(balance) {
    var el = byTestID('header-balance');
    if (!el) {
      return;
    }
    var n = Math.trunc(balance);
    var digits = String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    el.textContent = digits + (n === 1 || n === -1 ? ' coin' : ' coins');
  }

  // appLink reports whether a notification's link is a path of the app, as
  // the server's safeNext does.
  function appLink(l) {
    if (typeof l !== 'string' || l.length === 0 || l.length > 2048 || l.charAt(0) !== '/' ||
        l.charAt(1) === '/' || /[\\\s\u0000-\u001f\u007f-\u009f]/.test(l)) {
      return false;
    }
    var path = l.split(/[?#]/)[0];
    return !/(^|\/)\.\.?(\/|$)/.test(path);
  }

  function openURL(n) {
    return base + '/notifications/' + encodeURIComponent(String(n.id)) + '/open?seq=' + n.seq;
  }

  function toast(n) {
    var box = byTestID('live-toast');
    if (!box) {
      return;
    }
    var a = document.createElement('a');
    a.href = appLink(n.link) ? openURL(n) : base + '/notifications';
    a.textContent = String(n.text || '');
    a.setAttribute('data-testid', 'live-toast-link');
    box.textContent = '';
    box.appendChild(a);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function hide() {
      var el = byTestID('live-toast');
      if (el && (el.matches(':hover') || el.contains(document.activeElement))) {
        toastTimer = setTimeout(hide, TOAST_MS); // not while it is being used
        return;
      }
      if (el) {
        el.textContent = '';
      }
    }, TOAST_MS);
  }

  // prepend puts n on top of the first page of /notifications, built like
  // the server's notificationItems.
  function prepend(n) {
    var list = document.querySelector('[data-testid="notification-list"][data-live-prepend]');
    if (!list || list.querySelector('[data-seq="' + n.seq + '"]')) {
      return;
    }
    var li = document.createElement('li');
    li.className = 'notification unread';
    li.setAttribute('data-testid', 'notification-item');
    li.setAttribute('data-seq', String(n.seq));
    li.setAttribute('data-notification-id', String(n.id));
    li.setAttribute('data-kind', String(n.kind || ''));

    var marker = document.createElement('span');
    marker.className = 'unread-marker';
    marker.setAttribute('data-testid', 'notification-unread');
    var hidden = document.createElement('span');
    hidden.className = 'visually-hidden';
    hidden.textContent = 'Unread:';
    marker.appendChild(hidden);
    li.appendChild(marker);

    var main = document.createElement('div');
    main.className = 'notification-body';
    var text = document.createElement('span');
    text.setAttribute('data-testid', 'notification-text');
    text.textContent = String(n.text || '');
    if (appLink(n.link)) {
      var a = document.createElement('a');
      a.href = openURL(n);
      a.setAttribute('data-testid', 'notification-link');
      a.appendChild(text);
      main.appendChild(a);
    } else {
      main.appendChild(text);
    }
    var time = document.createElement('time');
    time.setAttribute('data-testid', 'notification-time');
    if (typeof n.created_at === 'string') {
      time.setAttribute('datetime', n.created_at);
      var at = new Date(n.created_at);
      if (!isNaN(at.getTime())) {
        time.title = at.toLocaleString();
      }
    }
    time.textContent = 'just now';
    main.appendChild(time);
    li.appendChild(main);

    list.insertBefore(li, list.firstChild);
    var empty = byTestID('notifications-empty');
    if (empty) {
      empty.remove();
    }
    var upTo = document.querySelector('[data-testid="mark-all-read-form"] input[name="up_to_seq"]');
    if (upTo && n.seq > (parseInt(upTo.value, 10) || 0)) {
      upTo.value = String(n.seq);
    }
  }

  // htmx may swap a page in without loading this file again: the elements
  // above are looked up afresh each time, and a swap that signs the member
  // out ends the connection.
  document.addEventListener('htmx:afterSettle', function () {
    if (!stopped && !signedIn()) {
      stop();
    }
  });

  connect();
})();
