/* linli 群聊模拟器 — WeChat-style web chat front-end (vanilla JS, no build step).
 *
 * Talks to the simulator API served by bot/channels/simulator.py:
 *   GET  /api/sim/directory
 *   POST /api/sim/messages                      {group, user, text, name?}
 *   POST /api/sim/images                        multipart: group, user, name?, image
 *   GET  /api/sim/uploads/{id}                  a posted photo (messages carry it as `image`)
 *   GET  /api/sim/groups/{group}/messages?after=<id>
 *   GET  /api/sim/users/{user}/messages?after=<id>
 *
 * User text is only ever put into the page through textContent.
 */
(function () {
  'use strict';

  var POLL_CURRENT_MS = 1000;
  var POLL_SIDE_MS = 3000;
  var TIME_GAP_MS = 5 * 60 * 1000;
  var NEW_GUEST = '__new__';
  var ROLE_LABELS = [
    ['resident', '居民'],
    ['staff', '工作人员'],
    ['volunteer', '志愿者'],
  ];
  var KIND_LABELS = { residents: '居民群', staff: '工作群', volunteers: '志愿者群', street: '街道群' };
  var PALETTE = [
    '#5b8ff9', '#f08b3e', '#e0685a', '#4fb3d9', '#9270ca', '#d9a43a',
    '#b0745a', '#e07aa5', '#6f7fa6', '#4a90c2', '#c9743b', '#a0669e',
  ];
  var BOT_COLOR = '#07c160';

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    app: $('app'),
    meAvatar: $('me-avatar'),
    asUser: $('as-user'),
    groupList: $('group-list'),
    privateChat: $('private-chat'),
    privateAvatar: $('private-avatar'),
    privateTitle: $('private-title'),
    privatePreview: $('private-preview'),
    title: $('chat-title'),
    subtitle: $('chat-subtitle'),
    messages: $('messages'),
    composer: $('composer'),
    input: $('input'),
    send: $('send'),
    imageButton: $('image-button'),
    imageInput: $('image-input'),
    readonly: $('readonly-note'),
    back: $('back'),
    quoteBar: $('quote-bar'),
    quoteText: $('quote-text'),
    quoteClear: $('quote-clear'),
  };
  // A reply quoting a message is sent as WeChat copies one: 「name：text」, a line of dashes, the reply.
  var QUOTE_DASHES = '- - - - - - - - - - - - - - -';
  var QUOTED = /^「([^」]*)」[ \t]*\n[ \t]*(?:[-－—][ \t]*){4,}\n([\s\S]*)$/;
  var QUOTE_MAX_CHARS = 120;

  var state = {
    botName: '社区小助手',
    communities: [],
    groups: [],
    groupById: {},
    people: [],
    personById: {},
    guests: loadJSON('linli-sim-guests', []),
    user: null,          // id of the person we speak as
    chat: null,          // {type: 'group'|'user', id: string}
    gen: 0,              // bumped on every chat switch; stale responses are dropped
    rendered: {},        // message ids shown in the pane
    lastId: 0,           // highest message id shown in the pane
    lastAt: null,        // Date of the last rendered message (for time separators)
    polling: false,
    repoll: false,
    connError: false,
    side: {},            // chat key -> {lastId, readId, unread, preview, at, ready}
    sideBusy: false,
    sending: false,
    tokenAsked: false,   // the token was asked for once already (on a 401)
    quote: null,         // {name, text} of the message being replied to, or null
  };

  // ---------------------------------------------------------------- helpers

  function loadJSON(key, fallback) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function saveJSON(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function firstChar(name) {
    var chars = Array.from(String(name || '?').trim());
    return chars.length ? chars[0] : '?';
  }

  function colorFor(key) {
    var h = 0;
    var s = String(key || '');
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }

  function makeAvatar(name, key, isBot) {
    var a = el('div', 'avatar' + (isBot ? ' avatar-bot' : ''), firstChar(name));
    a.style.backgroundColor = isBot ? BOT_COLOR : colorFor(key || name);
    a.title = name || '';
    a.setAttribute('aria-hidden', 'true');
    return a;
  }

  function fillAvatar(node, name, key, isBot) {
    node.textContent = firstChar(name);
    node.style.backgroundColor = isBot ? BOT_COLOR : colorFor(key || name);
    node.title = name || '';
  }

  /* WeChat shows a group's avatar as a grid of its members' avatars. */
  function makeGroupAvatar(group) {
    var members = state.people.filter(function (p) {
      return (p.groups || []).indexOf(group.id) !== -1;
    });
    var tiles = [{ name: state.botName, key: 'bot', bot: true }].concat(members.map(function (p) {
      return { name: p.name, key: p.id, bot: false };
    }));
    tiles = tiles.slice(0, 9);
    var box = el('div', 'avatar avatar-group ' + (tiles.length > 4 ? 'grid-3' : 'grid-2'));
    box.setAttribute('aria-hidden', 'true');
    tiles.forEach(function (t) {
      var tile = el('span', 'tile', firstChar(t.name));
      tile.style.backgroundColor = t.bot ? BOT_COLOR : colorFor(t.key);
      box.appendChild(tile);
    });
    return box;
  }

  function parseTime(iso) {
    if (!iso) return null;
    var d = new Date(iso);
    return isNaN(d.getTime()) ? null : d;
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  function formatTime(d, short) {
    if (!d) return '';
    var now = new Date();
    var hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
    var sameDay = d.toDateString() === now.toDateString();
    if (sameDay) return hm;
    var y = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    if (d.toDateString() === y.toDateString()) return short ? '昨天' : '昨天 ' + hm;
    var md = (d.getMonth() + 1) + '月' + d.getDate() + '日';
    if (d.getFullYear() !== now.getFullYear()) md = d.getFullYear() + '年' + md;
    return short ? md : md + ' ' + hm;
  }

  function chatKey(chat) { return chat ? chat.type + ':' + chat.id : ''; }

  function currentName() {
    var p = personFor(state.user);
    return p ? p.name : state.user;
  }

  function personFor(id) {
    if (state.personById[id]) return state.personById[id];
    for (var i = 0; i < state.guests.length; i++) {
      if (state.guests[i].id === id) return state.guests[i];
    }
    return null;
  }

  function isGuest(id) {
    return !state.personById[id] && !!personFor(id);
  }

  function isMember(userId, groupId) {
    var p = state.personById[userId];
    if (!p) return true; // guests join the group they post in
    return (p.groups || []).indexOf(groupId) !== -1;
  }

  /* The simulator token (LINLI_SIM_TOKEN), when the bot has one: given once in the address's
   * fragment (http://host:8080/#token=…, which browsers never send to the server) or typed when
   * asked, kept for this tab only, and sent in the X-Linli-Token header, never in a query string. */
  var TOKEN_KEY = 'linli-sim-token';

  function takeTokenFromFragment() {
    var m = /(?:^#|&)token=([^&]*)/.exec(window.location.hash || '');
    if (!m) return;
    try { window.sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1])); } catch (e) { /* private mode */ }
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }

  function simToken() {
    try { return window.sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function askForToken() {
    if (state.tokenAsked) return; // once per page load: the polls must not ask every second
    state.tokenAsked = true;
    var typed = window.prompt('这个模拟器需要口令（LINLI_SIM_TOKEN）：');
    if (typed) {
      try { window.sessionStorage.setItem(TOKEN_KEY, typed.trim()); } catch (e) { /* private mode */ }
    }
  }

  function api(path, options) {
    options = options || {};
    var headers = {};
    var given = options.headers || {};
    Object.keys(given).forEach(function (k) { headers[k] = given[k]; });
    var token = simToken();
    if (token) headers['X-Linli-Token'] = token;
    options.headers = headers;
    return fetch(path, options).then(function (resp) {
      return resp.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : null; } catch (e) { data = null; }
        if (resp.status === 401) askForToken();
        if (!resp.ok) {
          var msg = (data && data.error) ? data.error : ('HTTP ' + resp.status + (body ? '：' + body.slice(0, 200) : ''));
          var err = new Error(msg);
          err.status = resp.status;
          throw err;
        }
        return data || {};
      });
    });
  }

  function messagesUrl(chat, after) {
    var base = chat.type === 'group'
      ? '/api/sim/groups/' + encodeURIComponent(chat.id) + '/messages'
      : '/api/sim/users/' + encodeURIComponent(chat.id) + '/messages';
    return after ? base + '?after=' + encodeURIComponent(after) : base;
  }

  // ------------------------------------------------------------ directory

  function loadDirectory() {
    return api('/api/sim/directory').then(function (dir) {
      state.botName = (dir.bot && dir.bot.name) || state.botName;
      state.communities = dir.communities || [];
      state.groups = dir.groups || [];
      state.people = dir.people || [];
      state.groupById = {};
      state.groups.forEach(function (g) { state.groupById[g.id] = g; });
      state.personById = {};
      state.people.forEach(function (p) { state.personById[p.id] = p; });
    });
  }

  function buildUserSelect() {
    var sel = els.asUser;
    sel.textContent = '';
    ROLE_LABELS.forEach(function (pair) {
      var people = state.people.filter(function (p) { return p.role === pair[0]; });
      if (!people.length) return;
      var og = el('optgroup');
      og.label = pair[1];
      people.forEach(function (p) {
        var o = el('option', null, p.name);
        o.value = p.id;
        og.appendChild(o);
      });
      sel.appendChild(og);
    });
    var others = state.people.filter(function (p) {
      return !ROLE_LABELS.some(function (pair) { return pair[0] === p.role; });
    });
    var og2 = el('optgroup');
    og2.label = '新居民';
    others.concat(state.guests).forEach(function (p) {
      var o = el('option', null, p.name);
      o.value = p.id;
      og2.appendChild(o);
    });
    var add = el('option', null, '新居民…');
    add.value = NEW_GUEST;
    og2.appendChild(add);
    sel.appendChild(og2);
    if (state.user) sel.value = state.user;
  }

  function renderGroupList() {
    var list = els.groupList;
    list.textContent = '';
    var multi = state.communities.length > 1;
    var communityName = {};
    state.communities.forEach(function (c) { communityName[c.id] = c.name; });
    var order = state.communities.map(function (c) { return c.id; });
    state.groups.forEach(function (g) {
      if (order.indexOf(g.community) === -1) order.push(g.community);
    });
    order.forEach(function (cid) {
      var groups = state.groups.filter(function (g) { return g.community === cid; });
      if (!groups.length) return;
      if (multi || !state.communities.length) {
        list.appendChild(el('div', 'list-section', communityName[cid] || cid || '群聊'));
      }
      groups.forEach(function (g) { list.appendChild(makeGroupItem(g)); });
    });
    updateListState();
  }

  function makeGroupItem(g) {
    var item = el('div', 'chat-item');
    item.dataset.group = g.id;
    item.dataset.chat = 'group:' + g.id;
    item.setAttribute('role', 'listitem');
    item.tabIndex = 0;
    item.appendChild(makeGroupAvatar(g));
    var main = el('div', 'chat-item-main');
    var row = el('div', 'chat-item-row');
    var name = el('span', 'chat-item-name', g.name);
    var kind = el('span', 'kind kind-' + (g.kind || 'other'), KIND_LABELS[g.kind] || g.kind || '');
    var time = el('span', 'chat-item-time');
    row.appendChild(name);
    row.appendChild(time);
    main.appendChild(row);
    var row2 = el('div', 'chat-item-row');
    row2.appendChild(el('div', 'chat-item-preview', ''));
    if (kind.textContent) row2.appendChild(kind);
    main.appendChild(row2);
    item.appendChild(main);
    var badge = el('span', 'badge');
    badge.hidden = true;
    item.appendChild(badge);
    item.addEventListener('click', function () { selectChat({ type: 'group', id: g.id }); });
    item.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); selectChat({ type: 'group', id: g.id }); }
    });
    return item;
  }

  /* Active highlight, membership hints, previews, badges. */
  function updateListState() {
    var key = chatKey(state.chat);
    var items = els.groupList.querySelectorAll('.chat-item');
    Array.prototype.forEach.call(items, function (item) {
      var gid = item.dataset.group;
      item.classList.toggle('active', item.dataset.chat === key);
      item.classList.toggle('not-member', !isMember(state.user, gid));
      paintSide(item, state.side[item.dataset.chat]);
    });
    var pKey = 'user:' + state.user;
    els.privateChat.dataset.chat = pKey;
    els.privateChat.classList.toggle('active', pKey === key);
    els.privateTitle.textContent = state.botName;
    fillAvatar(els.privateAvatar, state.botName, 'bot', true);
    paintSide(els.privateChat, state.side[pKey], '发给' + currentName() + '的通知和提醒');
    var total = 0;
    Object.keys(state.side).forEach(function (k) {
      if (k.indexOf('user:') === 0 && k !== pKey) return;
      total += state.side[k].unread || 0;
    });
    document.title = (total ? '(' + total + ') ' : '') + '邻里 linli · 群聊模拟器';
  }

  function paintSide(item, info, emptyPreview) {
    var preview = item.querySelector('.chat-item-preview');
    var time = item.querySelector('.chat-item-time');
    var badge = item.querySelector('.badge');
    if (preview) preview.textContent = (info && info.preview) || emptyPreview || '';
    if (time) time.textContent = info && info.at ? formatTime(info.at, true) : '';
    if (badge) {
      var n = info ? info.unread || 0 : 0;
      badge.hidden = !n;
      badge.textContent = n > 99 ? '99+' : String(n);
    }
  }

  function previewOf(m, chat) {
    var text = String(m.text || '').replace(/\s+/g, ' ');
    if (chat.type === 'group') {
      var self = m.from !== 'bot' && m.sender_id === state.user;
      return (self ? '' : (m.sender_name || '') + ': ') + text;
    }
    return text;
  }

  function sideInfo(key) {
    if (!state.side[key]) state.side[key] = { lastId: 0, readId: 0, unread: 0, preview: '', at: null, ready: false };
    return state.side[key];
  }

  /* Record messages of a chat in the list's bookkeeping. */
  function noteMessages(chat, msgs, read) {
    var info = sideInfo(chatKey(chat));
    msgs.forEach(function (m) {
      if (typeof m.id !== 'number' || m.id <= info.lastId) return;
      info.lastId = m.id;
      info.preview = previewOf(m, chat);
      info.at = parseTime(m.at) || info.at;
      var own = m.from !== 'bot' && m.sender_id === state.user;
      if (read || !info.ready || own) {
        info.readId = m.id;
      } else {
        info.unread += 1;
      }
    });
    if (read) { info.unread = 0; info.readId = info.lastId; }
    info.ready = true;
  }

  // ------------------------------------------------------------- identity

  function setUser(id) {
    state.user = id;
    els.asUser.value = id;
    saveJSON('linli-sim-user', id);
    fillAvatar(els.meAvatar, currentName(), id, false);
    els.meAvatar.title = '当前身份：' + currentName();
    els.input.placeholder = '以「' + currentName() + '」的身份发言';
    if (state.chat && state.chat.type === 'user') {
      selectChat({ type: 'user', id: id });
    } else if (state.chat) {
      selectChat(state.chat); // re-render: "own" bubbles depend on who we are
    }
    updateListState();
    pollSide();
  }

  function onUserSelect() {
    var v = els.asUser.value;
    if (v !== NEW_GUEST) { setUser(v); return; }
    var name = window.prompt('新居民的名字（例如：孙阿姨）', '');
    name = name == null ? '' : name.trim();
    if (!name) { els.asUser.value = state.user; return; }
    var id = 'guest-' + Math.random().toString(36).slice(2, 8);
    state.guests.push({ id: id, name: name, role: 'resident', groups: [] });
    saveJSON('linli-sim-guests', state.guests);
    buildUserSelect();
    setUser(id);
    if (!state.chat || state.chat.type !== 'group') {
      var first = state.groups.filter(function (g) { return g.kind === 'residents'; })[0] || state.groups[0];
      if (first) selectChat({ type: 'group', id: first.id });
    }
  }

  // ----------------------------------------------------------------- chat

  function selectChat(chat) {
    state.chat = chat;
    state.gen += 1;
    state.rendered = {};
    state.lastId = 0;
    state.lastAt = null;
    state.connError = false;
    els.messages.textContent = '';
    els.messages.dataset.chat = chatKey(chat);
    saveJSON('linli-sim-chat', chat);
    var isGroup = chat.type === 'group';
    if (isGroup) {
      var g = state.groupById[chat.id] || { name: chat.id };
      var count = state.people.filter(function (p) { return (p.groups || []).indexOf(chat.id) !== -1; }).length;
      els.title.textContent = g.name + (count ? '（' + count + '）' : '');
      var sub = KIND_LABELS[g.kind] || '';
      if (!isMember(state.user, chat.id)) sub += (sub ? ' · ' : '') + currentName() + '不在此群';
      els.subtitle.textContent = sub;
    } else {
      els.title.textContent = state.botName;
      els.subtitle.textContent = '私信 · 发给' + currentName();
    }
    els.app.classList.toggle('private-mode', !isGroup);
    els.composer.hidden = !isGroup;
    els.readonly.hidden = isGroup;
    els.readonly.textContent = isGroup ? '' :
      '这里是' + state.botName + '发给「' + currentName() + '」的私信：志愿者收到任务通知，居民收到提醒。模拟器里私信只读。';
    els.app.classList.add('conversation-open');
    updateListState();
    pollCurrent();
    if (isGroup && window.matchMedia('(min-width: 701px)').matches) els.input.focus();
  }

  function isNearBottom() {
    var m = els.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToBottom() {
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  function appendSystem(text, cls) {
    var wasBottom = isNearBottom();
    var line = el('div', 'sys-line ' + (cls || ''));
    line.appendChild(el('span', null, text));
    els.messages.appendChild(line);
    if (wasBottom) scrollToBottom();
    return line;
  }

  function renderMessage(m) {
    var chat = state.chat;
    var isBot = m.from === 'bot';
    var isSelf = !isBot && m.sender_id != null && m.sender_id === state.user;
    var at = parseTime(m.at);
    if (at && (!state.lastAt || at - state.lastAt > TIME_GAP_MS)) {
      els.messages.appendChild(el('div', 'msg-time', formatTime(at, false)));
    }
    if (at) state.lastAt = at;

    var row = el('div', 'msg ' + (isBot ? 'msg-bot' : isSelf ? 'msg-self' : 'msg-other'));
    row.dataset.id = String(m.id);
    if (m.sender_id) row.dataset.sender = m.sender_id;
    var name = isBot ? (m.sender_name || state.botName) : (m.sender_name || m.sender_id || '');
    row.appendChild(makeAvatar(name, isBot ? 'bot' : m.sender_id, isBot));
    var body = el('div', 'msg-body');
    if (!isSelf && chat.type === 'group') body.appendChild(el('div', 'msg-name', name));
    var bubble;
    var said = String(m.text == null ? '' : m.text);
    var quoted = m.image ? null : QUOTED.exec(said);  // a reply: its own words in the bubble, the quote below
    var quoteRef = quoted ? el('div', 'quote-ref', quoted[1]) : null;
    if (m.image) {
      bubble = el('div', 'bubble has-image');
      var img = el('img', 'bubble-image');
      img.src = m.image;
      img.alt = '图片';
      bubble.appendChild(img);
      if (m.text && m.text !== '[图片]') bubble.appendChild(el('div', 'bubble-caption', String(m.text)));
    } else {
      bubble = el('div', 'bubble', quoted ? quoted[2] : said);
    }
    if (at) bubble.title = at.toLocaleString('zh-CN');
    body.appendChild(bubble);
    if (quoteRef) body.appendChild(quoteRef);
    if (chat.type === 'group' && !m.image) {
      var reply = el('button', 'quote-action', '引用');
      reply.type = 'button';
      reply.title = '引用这条消息回复';
      reply.addEventListener('click', function () {
        setQuote(name, quoted ? quoted[2] : said);
      });
      body.appendChild(reply);
    }
    row.appendChild(body);
    els.messages.appendChild(row);
    return isSelf;
  }

  function pollCurrent() {
    if (!state.chat || !state.user) return;
    if (state.polling) { state.repoll = true; return; }
    state.polling = true;
    var gen = state.gen;
    var chat = state.chat;
    var first = state.lastId === 0 && !els.messages.querySelector('.msg');
    api(messagesUrl(chat, state.lastId)).then(function (data) {
      if (gen !== state.gen) return;
      if (state.connError) {
        state.connError = false;
        var warn = els.messages.querySelector('.sys-conn');
        if (warn) warn.remove();
      }
      var msgs = (data && data.messages) || [];
      var wasBottom = isNearBottom();
      var ownNew = false;
      msgs.forEach(function (m) {
        if (m == null || m.id == null || state.rendered[m.id]) return;
        state.rendered[m.id] = true;
        if (typeof m.id === 'number' && m.id > state.lastId) state.lastId = m.id;
        if (renderMessage(m)) ownNew = true;
      });
      if (first && !msgs.length) {
        appendSystem(chat.type === 'group' ? '还没有消息，说点什么吧' : '暂无私信', 'sys-empty');
      } else if (msgs.length) {
        var empty = els.messages.querySelector('.sys-empty');
        if (empty) empty.remove();
      }
      if (first || wasBottom || ownNew) scrollToBottom();
      noteMessages(chat, msgs, true);
      updateListState();
    }).catch(function (err) {
      if (gen !== state.gen) return;
      if (!state.connError) {
        state.connError = true;
        appendSystem('无法获取消息：' + err.message + '（正在重试…）', 'sys-error sys-conn');
      }
    }).then(function () {
      state.polling = false;
      if (state.repoll) { state.repoll = false; pollCurrent(); }
    });
  }

  /* Less frequent polling of the other chats, for previews and unread badges. */
  function pollSide() {
    if (state.sideBusy || !state.user) return;
    state.sideBusy = true;
    var current = chatKey(state.chat);
    var chats = state.groups.map(function (g) { return { type: 'group', id: g.id }; });
    chats.push({ type: 'user', id: state.user });
    var jobs = chats.filter(function (c) { return chatKey(c) !== current; }).map(function (c) {
      var info = sideInfo(chatKey(c));
      return api(messagesUrl(c, info.lastId)).then(function (data) {
        // the user may have opened this chat meanwhile: then it is read
        noteMessages(c, (data && data.messages) || [], chatKey(c) === chatKey(state.chat));
      }).catch(function () { /* shown by the current chat's poll */ });
    });
    Promise.all(jobs).then(function () {
      state.sideBusy = false;
      updateListState();
    });
  }

  /* 引用: the next message sent replies to this one (WeChat's long-press 引用). */
  function setQuote(name, text) {
    var flat = String(text).replace(/\s+/g, ' ').trim();
    if (flat.length > QUOTE_MAX_CHARS) flat = flat.slice(0, QUOTE_MAX_CHARS) + '…';
    state.quote = flat ? { name: name, text: flat } : null;
    els.quoteBar.hidden = !state.quote;
    els.quoteText.textContent = state.quote ? name + '：' + flat : '';
    if (state.quote) els.input.focus();
  }

  function send() {
    if (!state.chat || state.chat.type !== 'group' || state.sending) return;
    var text = els.input.value;
    if (!text.trim()) {
      els.input.classList.add('shake');
      window.setTimeout(function () { els.input.classList.remove('shake'); }, 400);
      return;
    }
    var quote = state.quote;
    var said = quote ? '「' + quote.name + '：' + quote.text + '」\n' + QUOTE_DASHES + '\n' + text : text;
    var payload = { group: state.chat.id, user: state.user, text: said };
    if (isGuest(state.user)) payload.name = currentName();
    var gen = state.gen;
    state.sending = true;
    els.send.disabled = true;
    els.input.value = '';
    setQuote('', '');
    api('/api/sim/messages', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    }).then(function (res) {
      if (res && res.duplicate && gen === state.gen) appendSystem('重复的消息，已忽略', 'sys-info');
    }).catch(function (err) {
      if (gen === state.gen) {
        appendSystem('发送失败：' + err.message, 'sys-error');
        scrollToBottom();
      }
      if (!els.input.value) {
        els.input.value = text;
        if (quote) setQuote(quote.name, quote.text);
      }
    }).then(function () {
      state.sending = false;
      els.send.disabled = false;
      pollCurrent(); // replies arrive through the poll (with ids, so nothing is shown twice)
      els.input.focus();
    });
  }

  /* A photo from the image button: posted like WeChat's 图片, it joins the sender's request. */
  function sendImage(file) {
    if (!file || !state.chat || state.chat.type !== 'group' || state.sending) return;
    var form = new FormData();
    form.append('group', state.chat.id);
    form.append('user', state.user);
    if (isGuest(state.user)) form.append('name', currentName());
    form.append('image', file, file.name || 'photo.jpg');
    var gen = state.gen;
    state.sending = true;
    els.send.disabled = true;
    els.imageButton.disabled = true;
    api('/api/sim/images', { method: 'POST', body: form }).catch(function (err) {
      if (gen === state.gen) {
        appendSystem('图片发送失败：' + err.message, 'sys-error');
        scrollToBottom();
      }
    }).then(function () {
      state.sending = false;
      els.send.disabled = false;
      els.imageButton.disabled = false;
      els.imageInput.value = '';
      pollCurrent();
    });
  }

  // ---------------------------------------------------------------- wiring

  els.asUser.addEventListener('change', onUserSelect);
  els.send.addEventListener('click', send);
  els.imageButton.addEventListener('click', function () { els.imageInput.click(); });
  els.imageInput.addEventListener('change', function () { sendImage(els.imageInput.files[0]); });
  els.input.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.isComposing || e.keyCode === 229) return; // IME candidate selection, not "send"
    e.preventDefault();
    send();
  });
  els.privateChat.addEventListener('click', function () { selectChat({ type: 'user', id: state.user }); });
  els.privateChat.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); selectChat({ type: 'user', id: state.user }); }
  });
  els.back.addEventListener('click', function () { els.app.classList.remove('conversation-open'); });
  els.quoteClear.addEventListener('click', function () { setQuote('', ''); els.input.focus(); });

  function start() {
    takeTokenFromFragment();
    els.messages.textContent = '';
    loadDirectory().then(function () {
      buildUserSelect();
      var saved = loadJSON('linli-sim-user', null);
      var firstResident = state.people.filter(function (p) { return p.role === 'resident'; })[0] || state.people[0];
      var user = (saved && personFor(saved)) ? saved : (firstResident ? firstResident.id : null);
      if (!user) {
        var id = 'guest-' + Math.random().toString(36).slice(2, 8);
        state.guests.push({ id: id, name: '新居民', role: 'resident', groups: [] });
        buildUserSelect();
        user = id;
      }
      state.user = user;
      renderGroupList();
      var savedChat = loadJSON('linli-sim-chat', null);
      var chat = null;
      if (savedChat && savedChat.type === 'group' && state.groupById[savedChat.id]) chat = savedChat;
      if (savedChat && savedChat.type === 'user') chat = { type: 'user', id: user };
      if (!chat) {
        var p = state.personById[user];
        var gid = (p && p.groups && p.groups.filter(function (g) { return state.groupById[g]; })[0]) ||
          (state.groups.filter(function (g) { return g.kind === 'residents'; })[0] || state.groups[0] || {}).id;
        if (gid) chat = { type: 'group', id: gid };
      }
      state.chat = chat;
      setUser(user);
      if (!chat) {
        els.title.textContent = '没有群聊';
        appendSystem('通讯录里没有群，请检查 demo 配置', 'sys-error');
      }
      window.setInterval(pollCurrent, POLL_CURRENT_MS);
      window.setInterval(pollSide, POLL_SIDE_MS);
    }).catch(function (err) {
      els.title.textContent = '模拟器不可用';
      appendSystem('无法加载通讯录：' + err.message, 'sys-error');
      window.setTimeout(start, 3000);
    });
  }

  start();
})();
