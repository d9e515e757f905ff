// Tiếng Dân sandbox page: three Telegram-like chats driven through the sandbox's JSON API, updated live
// by server-sent events. Every text is rendered from the parsed text and its entities with DOM nodes and
// textContent: nothing the bot or a user wrote is ever inserted as HTML.
"use strict";

const chats = {}; // who -> chat view state
let bot = { name: "Tiếng Dân", username: "" };
let generation = null;
let loading = false;
let pending = []; // events received while the state is being (re)loaded
let rejections = [];

// --- the page's own words, in each language (the VI / EN switches) ---------------------------
// Texts inside a chat follow that chat's language; the page's header and panels follow the switch
// pressed last (remembered in this browser), Vietnamese at first.

const UI = {
  vi: {
    brandSub: "Bot thật, một máy chủ Telegram Bot API giả lập và Redis nhúng — không gì rời khỏi máy này. "
      + "Gửi phản ánh trong vai người dân, xử lý trong vai cán bộ.",
    liveTitle: "Cập nhật trực tiếp (server-sent events)",
    connecting: "đang kết nối…",
    live: "trực tiếp",
    reconnecting: "đang kết nối lại…",
    reset: "⟲ Làm lại",
    resetTitle: "Dừng bot, xóa dữ liệu và bắt đầu lại",
    resetting: "Đang làm lại…",
    resetFailed: "Không làm lại được: ",
    rejected: "Lệnh Bot API bị từ chối",
    rejectedWhy: "— những yêu cầu trình giả lập từ chối như Telegram sẽ làm",
    noneSoFar: "Chưa có.",
    language: "Ngôn ngữ",
    reply: "Trả lời",
    replyTo: "Trả lời ",
    cancelReply: "Hủy trả lời",
    attachDocument: "📄 Tài liệu (PDF)",
    attachLocation: "📍 Vị trí ở Thành Sen",
    commands: "Lệnh",
    attach: "Đính kèm tài liệu hoặc vị trí",
    photo: "Gửi ảnh mẫu (chữ đang gõ thành chú thích)",
    keyboard: "Hiện hoặc ẩn bàn phím",
    send: "Gửi",
    message: "Tin nhắn",
    official: "cán bộ ",
    chatWith: " · trò chuyện với ",
    noCommands: "  Chưa có lệnh nào được đăng ký.",
    sendCommand: "Gửi ",
    forwardedFrom: "Chuyển tiếp từ ",
    photoAlt: "Ảnh",
    edited: "đã sửa ",
    replyToThis: "Trả lời tin nhắn này",
    spoiler: "Nội dung ẩn: bấm để xem",
    inertButton: "Loại nút này không làm gì trong sandbox.",
    shares: "Chia sẻ ",
  },
  en: {
    brandSub: "The real bot, a local Telegram Bot API emulator and an embedded Redis — nothing leaves this "
      + "computer. Submit a petition as the citizen, handle it as the official.",
    liveTitle: "Live updates (server-sent events)",
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    reset: "⟲ Reset",
    resetTitle: "Stop the bot, delete its data and start again",
    resetting: "Resetting…",
    resetFailed: "Reset failed: ",
    rejected: "Rejected Bot API calls",
    rejectedWhy: "— requests the emulator refused the way Telegram would",
    noneSoFar: "None so far.",
    language: "Language",
    reply: "Reply",
    replyTo: "Reply to ",
    cancelReply: "Cancel reply",
    attachDocument: "📄 Document (PDF)",
    attachLocation: "📍 Location in Thành Sen",
    commands: "Commands",
    attach: "Attach a document or a location",
    photo: "Send a sample photo (the text becomes its caption)",
    keyboard: "Show or hide the keyboard",
    send: "Send",
    message: "Message",
    official: "official ",
    chatWith: " · chat with ",
    noCommands: "  No commands registered yet.",
    sendCommand: "Send ",
    forwardedFrom: "Forwarded from ",
    photoAlt: "Photo",
    edited: "edited ",
    replyToThis: "Reply to this message",
    spoiler: "Spoiler: click to show",
    inertButton: "This kind of button does nothing in the sandbox.",
    shares: "Shares ",
  },
};
const PAGE_LANG_KEY = "tiengdan-sandbox-lang";
let pageLang = (() => {
  try { return localStorage.getItem(PAGE_LANG_KEY) || "vi"; } catch (e) { return "vi"; }
})();
let liveOn = false;

function t(lang, key) {
  const table = UI[lang] || UI.vi;
  return key in table ? table[key] : UI.en[key];
}

function chatLang(chat) {
  return (chat && chat.data && chat.data.language) || "vi";
}

function translateTree(root, lang) {
  root.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(lang, node.dataset.i18n); });
  root.querySelectorAll("[data-i18n-title]").forEach((node) => { node.title = t(lang, node.dataset.i18nTitle); });
  root.querySelectorAll("[data-i18n-aria]").forEach((node) => {
    node.setAttribute("aria-label", t(lang, node.dataset.i18nAria));
  });
}

function applyPageLanguage(lang) {
  pageLang = UI[lang] ? lang : "vi";
  try { localStorage.setItem(PAGE_LANG_KEY, pageLang); } catch (e) { /* private mode */ }
  document.documentElement.lang = pageLang;
  translateTree(document.querySelector("body > header"), pageLang);
  translateTree(document.getElementById("rejections"), pageLang);
  setLive(liveOn);
  renderRejections();
}

// --- helpers -------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

async function api(path, body) {
  const init = body === undefined
    ? { method: "GET" }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  let data = {};
  try { data = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok || data.ok === false) throw new Error(data.error || response.statusText || "request failed");
  return data;
}

function initials(name) {
  const words = (name || "?").trim().split(/\s+/);
  const first = words[0] ? words[0][0] : "?";
  const last = words.length > 1 ? words[words.length - 1][0] : "";
  return (first + last).toUpperCase();
}

function clock(unix) {
  return new Date(unix * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

function humanSize(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
  return (bytes / 1024 / 1024).toFixed(1) + " MB";
}

function safeHref(url) {
  const value = String(url || "").trim();
  if (/^(https?:|mailto:|tel:|tg:)/i.test(value)) return value;
  if (/^[\w.-]+\.[a-z]{2,}(\/|$)/i.test(value)) return "http://" + value;
  return null;
}

// --- text with entities (offsets are UTF-16 code units, like JavaScript strings) ---------------

function entityNode(entity, chat, covered) {
  let node;
  switch (entity.type) {
    case "bold": node = el("b"); break;
    case "italic": node = el("i"); break;
    case "underline": node = el("u"); break;
    case "strikethrough": node = el("s"); break;
    case "code": node = el("code"); break;
    case "pre": node = el("pre"); if (entity.language) node.dataset.language = entity.language; break;
    case "blockquote":
    case "expandable_blockquote": node = el("blockquote"); break;
    case "spoiler":
      node = el("span", "spoiler");
      node.title = t(chatLang(chat), "spoiler");
      node.addEventListener("click", () => node.classList.toggle("shown"));
      break;
    case "text_link":
    case "url":
    case "email":
    case "phone_number": {
      const raw = entity.type === "text_link" ? entity.url
        : entity.type === "email" ? "mailto:" + covered
          : entity.type === "phone_number" ? "tel:" + covered.replace(/[^\d+]/g, "") : covered;
      const href = safeHref(raw);
      node = href ? el("a") : el("span", "link");
      if (href) { node.href = href; node.target = "_blank"; node.rel = "noopener noreferrer"; node.title = href; }
      break;
    }
    case "bot_command":
      node = el("span", "link");
      node.title = t(chatLang(chat), "sendCommand") + covered;
      node.addEventListener("click", () => sendText(chat, covered.split("@")[0]));
      break;
    case "mention":
    case "hashtag":
    case "cashtag":
    case "text_mention":
      node = el("span", "link"); break;
    default:
      node = el("span");
  }
  node.dataset.entity = entity.type;
  return node;
}

const BLOCK_ENTITIES = new Set(["blockquote", "expandable_blockquote", "pre"]);

function renderEntities(parent, text, entities, chat) {
  const sorted = (entities || [])
    .filter((e) => e && e.length > 0 && e.offset >= 0 && e.offset < text.length)
    .map((e) => ({ ...e, end: Math.min(text.length, e.offset + e.length) }))
    .sort((a, b) => a.offset - b.offset || b.end - a.end);

  function build(target, start, end, list) {
    let pos = start;
    let i = 0;
    while (i < list.length) {
      const entity = list[i];
      if (entity.offset >= end) break;
      const from = Math.max(entity.offset, pos);
      const to = Math.min(entity.end, end);
      if (from > pos) target.appendChild(document.createTextNode(text.slice(pos, from)));
      const inner = [];
      let j = i + 1;
      while (j < list.length && list[j].offset < to) { // nested (or overlapping: clipped) entities
        inner.push({ ...list[j], offset: Math.max(list[j].offset, from), end: Math.min(list[j].end, to) });
        j += 1;
      }
      if (to > from) {
        const node = entityNode(entity, chat, text.slice(entity.offset, entity.end));
        build(node, from, to, inner.filter((e) => e.end > e.offset));
        target.appendChild(node);
        pos = to;
        // A quote or code block is drawn as a block, as Telegram does: the line break after it ends the
        // block instead of leaving an empty line.
        if (BLOCK_ENTITIES.has(entity.type) && to === entity.end && pos < end && text[pos] === "\n") pos += 1;
      }
      i = j;
    }
    if (pos < end) target.appendChild(document.createTextNode(text.slice(pos, end)));
  }

  build(parent, 0, text.length, sorted);
}

// --- building the page ---------------------------------------------------------------------

function createChat(data) {
  const template = document.getElementById("chat-template");
  const section = template.content.firstElementChild.cloneNode(true);
  section.dataset.who = data.who;
  const chat = {
    who: data.who,
    section,
    list: section.querySelector(".messages"),
    input: section.querySelector(".input"),
    form: section.querySelector(".input-row"),
    keyboardBox: section.querySelector(".reply-keyboard"),
    kbdButton: section.querySelector(".kbd-btn"),
    replyBar: section.querySelector(".reply-bar"),
    commandsMenu: section.querySelector(".commands-menu"),
    attachMenu: section.querySelector(".attach-menu"),
    toast: section.querySelector(".toast"),
    messages: new Map(),
    data,
    keyboard: null,
    keyboardHidden: false,
    replyTo: null,
    toastTimer: null,
  };
  chat.form.addEventListener("submit", (event) => { event.preventDefault(); submitInput(chat); });
  chat.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submitInput(chat); }
    if (event.key === "Escape") setReply(chat, null);
  });
  chat.input.addEventListener("input", () => autoGrow(chat.input));
  section.querySelector(".photo-btn").addEventListener("click", () => sendPhoto(chat));
  section.querySelector(".menu-btn").addEventListener("click", (event) => { event.stopPropagation(); togglePopup(chat, chat.commandsMenu); });
  section.querySelector(".attach-btn").addEventListener("click", (event) => { event.stopPropagation(); togglePopup(chat, chat.attachMenu); });
  section.querySelector(".reply-cancel").addEventListener("click", () => setReply(chat, null));
  chat.kbdButton.addEventListener("click", () => { chat.keyboardHidden = !chat.keyboardHidden; renderKeyboard(chat); });
  chat.attachMenu.querySelectorAll("[data-attach]").forEach((button) => {
    button.addEventListener("click", () => {
      closePopups();
      const kind = button.dataset.attach;
      act(chat, () => api("/api/" + kind, { who: chat.who }));
    });
  });
  section.querySelectorAll(".lang button").forEach((button) => {
    button.addEventListener("click", () => switchLanguage(chat, button.dataset.lang));
  });
  document.getElementById("chats").appendChild(section);
  chats[data.who] = chat;
  return chat;
}

function renderHeader(chat) {
  const { data, section } = chat;
  const lang = chatLang(chat);
  translateTree(section, lang);
  section.querySelector(".avatar").textContent = initials(data.name);
  section.querySelector(".title").textContent = data.title;
  const extra = data.official_id ? t(lang, "official") + data.official_id : data.phone;
  section.querySelector(".sub").textContent = data.name + " · " + extra + t(lang, "chatWith") + bot.name;
  section.querySelectorAll(".lang button").forEach((button) => {
    button.classList.toggle("active", button.dataset.lang === (data.language || "vi"));
    button.disabled = false;
  });
  renderCommands(chat);
}

function renderCommands(chat) {
  const menu = chat.commandsMenu;
  menu.replaceChildren();
  const commands = chat.data.commands || [];
  if (!commands.length) menu.appendChild(el("div", "muted", t(chatLang(chat), "noCommands")));
  commands.forEach((command) => {
    const item = el("button");
    item.type = "button";
    item.appendChild(el("span", "cmd", "/" + command.command));
    item.appendChild(el("span", "desc", command.description));
    item.addEventListener("click", () => { closePopups(); sendText(chat, "/" + command.command); });
    menu.appendChild(item);
  });
}

function renderEmptyHint(chat) {
  const existing = chat.list.querySelector(".empty-hint");
  if (chat.messages.size > 0) { if (existing) existing.remove(); return; }
  if (existing) return;
  const hint = el("div", "empty-hint");
  String(chat.data.hint || "").split(/(\/[a-z_]+)/).forEach((part) => {
    if (/^\/[a-z_]+$/.test(part)) {
      const code = el("code", "link", part);
      code.title = t(chatLang(chat), "sendCommand") + part;
      code.style.cursor = "pointer";
      code.addEventListener("click", () => sendText(chat, part));
      hint.appendChild(code);
    } else if (part) {
      hint.appendChild(document.createTextNode(part));
    }
  });
  chat.list.appendChild(hint);
}

function fileIcon(kind) {
  return { document: "📄", voice: "🎤", audio: "🎵", video: "🎬", animation: "🎞", video_note: "⭕" }[kind] || "📎";
}

function renderMessage(chat, m) {
  const wrap = el("div", "msg " + (m.from_bot ? "in" : "out"));
  wrap.dataset.id = String(m.id);
  const bubble = el("div", "bubble");
  wrap.appendChild(bubble);
  const hasMedia = Boolean(m.photo || m.location || (m.file && m.file.kind !== "sticker"));

  const lang = chatLang(chat);
  if (m.forwarded_from) bubble.appendChild(el("div", "forwarded", t(lang, "forwardedFrom") + m.forwarded_from));
  if (m.reply_to) {
    const quote = el("div", "quote");
    quote.appendChild(el("div", "quote-who", m.reply_to.from_bot ? bot.name : chat.data.name));
    quote.appendChild(el("div", "quote-text", m.reply_to.text));
    quote.addEventListener("click", () => revealMessage(chat, m.reply_to.id));
    bubble.appendChild(quote);
  }
  if (m.photo && m.photo.url) {
    const img = el("img", "photo");
    img.src = m.photo.url;
    img.alt = t(lang, "photoAlt");
    img.loading = "lazy";
    if (m.photo.width && m.photo.height) { img.width = m.photo.width; img.height = m.photo.height; }
    bubble.appendChild(img);
  }
  if (m.file) {
    if (m.file.kind === "sticker") {
      bubble.appendChild(el("div", "sticker", m.file.emoji || "🖼"));
      bubble.style.background = "transparent";
      bubble.style.boxShadow = "none";
    } else {
      const chip = el(m.file.url ? "a" : "div", "file");
      if (m.file.url) { chip.href = m.file.url; chip.target = "_blank"; chip.rel = "noopener"; }
      chip.appendChild(el("div", "file-icon", fileIcon(m.file.kind)));
      const info = el("div");
      const label = m.file.name || (m.file.kind.replace("_", " ").replace(/^./, (c) => c.toUpperCase()));
      info.appendChild(el("div", "file-name", label));
      const details = [];
      if (m.file.duration) details.push("0:" + String(m.file.duration).padStart(2, "0"));
      if (m.file.size) details.push(humanSize(m.file.size));
      info.appendChild(el("div", "file-size", details.join(" · ")));
      chip.appendChild(info);
      bubble.appendChild(chip);
    }
  }
  if (m.location) {
    bubble.appendChild(el("div", "map"));
    bubble.appendChild(el("div", "coords",
      "📍 " + Number(m.location.latitude).toFixed(5) + ", " + Number(m.location.longitude).toFixed(5)));
  }
  if (m.contact) {
    const chip = el("div", "file");
    chip.appendChild(el("div", "file-icon", "👤"));
    const info = el("div");
    info.appendChild(el("div", "file-name", [m.contact.first_name, m.contact.last_name].filter(Boolean).join(" ")));
    info.appendChild(el("div", "file-size", m.contact.phone_number));
    chip.appendChild(info);
    bubble.appendChild(chip);
  }
  if (hasMedia) bubble.classList.add("media");

  const meta = el("span", "meta");
  if (m.edited) meta.appendChild(el("span", "edited", t(lang, "edited")));
  meta.appendChild(document.createTextNode(clock(m.date) + (m.from_bot ? "" : " ✓✓")));
  if (m.text) {
    const text = el("div", "text");
    renderEntities(text, m.text, m.entities, chat);
    text.appendChild(meta);
    bubble.appendChild(text);
  } else if (m.photo) {
    bubble.classList.add("photo-only");
    bubble.appendChild(meta);
  } else {
    const text = el("div", "text");
    text.appendChild(meta);
    bubble.appendChild(text);
  }

  const rows = m.inline_keyboard || [];
  if (rows.length) {
    wrap.classList.add("has-kb");
    const keyboard = el("div", "inline-kb");
    rows.forEach((row) => {
      const line = el("div", "kb-row");
      row.forEach((button) => {
        const b = el("button", "kb-btn" + (button.url ? " url" : ""), button.text);
        b.type = "button";
        b.title = button.url || button.text;
        b.addEventListener("click", () => pressButton(chat, m, button, b));
        line.appendChild(b);
      });
      keyboard.appendChild(line);
    });
    wrap.appendChild(keyboard);
  }

  const reply = el("button", "reply-action", "↩");
  reply.type = "button";
  reply.title = t(lang, "replyToThis");
  reply.addEventListener("click", () => setReply(chat, m));
  bubble.addEventListener("dblclick", () => setReply(chat, m));
  wrap.appendChild(reply);
  return wrap;
}

function nearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

function scrollDown(chat) {
  chat.list.scrollTop = chat.list.scrollHeight;
}

function upsertMessage(chat, m, { animate = true } = {}) {
  const old = chat.messages.get(m.id);
  if (old && old.seq > m.seq) return;
  const stick = nearBottom(chat.list) || !m.from_bot;
  chat.messages.set(m.id, m);
  const node = renderMessage(chat, m);
  const existing = chat.list.querySelector('.msg[data-id="' + m.id + '"]');
  if (existing) {
    existing.replaceWith(node);
    if (animate && old) node.classList.add("flash");
  } else {
    const after = Array.from(chat.list.querySelectorAll(".msg")).find((n) => Number(n.dataset.id) > m.id);
    chat.list.insertBefore(node, after || null);
    if (animate) node.classList.add("fresh");
  }
  renderEmptyHint(chat);
  if (stick) scrollDown(chat);
  const img = node.querySelector("img.photo");
  if (img && stick) img.addEventListener("load", () => scrollDown(chat), { once: true });
}

function removeMessage(chat, id) {
  chat.messages.delete(id);
  const node = chat.list.querySelector('.msg[data-id="' + id + '"]');
  if (node) node.remove();
  if (chat.replyTo && chat.replyTo.id === id) setReply(chat, null);
  renderEmptyHint(chat);
}

function setKeyboard(chat, keyboard) {
  const before = JSON.stringify(chat.keyboard);
  const after = JSON.stringify(keyboard || null);
  if (before !== after) chat.keyboardHidden = false;
  chat.keyboard = keyboard || null;
  renderKeyboard(chat);
}

function renderKeyboard(chat) {
  const box = chat.keyboardBox;
  const keyboard = chat.keyboard;
  box.replaceChildren();
  chat.kbdButton.hidden = !keyboard;
  chat.kbdButton.classList.toggle("active", Boolean(keyboard) && !chat.keyboardHidden);
  chat.input.placeholder = (keyboard && keyboard.placeholder) || t(chatLang(chat), "message");
  if (!keyboard || chat.keyboardHidden) { box.hidden = true; return; }
  keyboard.rows.forEach((row) => {
    const line = el("div", "rk-row");
    row.forEach((button) => {
      const b = el("button", "rk-btn" + (button.request_contact ? " contact" : ""), button.text);
      b.type = "button";
      b.title = button.request_contact ? t(chatLang(chat), "shares") + chat.data.phone : button.text;
      b.addEventListener("click", () => pressReplyButton(chat, button));
      line.appendChild(b);
    });
    box.appendChild(line);
  });
  box.hidden = false;
}

function renderRejections() {
  const list = document.getElementById("rejection-list");
  const count = document.getElementById("rejection-count");
  count.textContent = String(rejections.length);
  count.classList.toggle("bad", rejections.length > 0);
  list.replaceChildren();
  if (!rejections.length) { list.appendChild(el("p", "muted", t(pageLang, "noneSoFar"))); return; }
  rejections.slice().reverse().forEach((r) => {
    const item = el("div", "rejection");
    item.appendChild(el("span", "muted", r.time ? new Date(r.time * 1000).toLocaleTimeString() + " " : ""));
    item.appendChild(el("span", "method", r.method));
    item.appendChild(el("span", "code", String(r.error_code)));
    item.appendChild(el("span", "", r.description));
    item.appendChild(el("pre", "", JSON.stringify(r.params, null, 2)));
    list.appendChild(item);
  });
}

function applyState(state) {
  generation = state.generation;
  bot = state.bot || bot;
  state.chats.forEach((data) => {
    const chat = chats[data.who] || createChat(data);
    chat.data = data;
    renderHeader(chat);
    chat.messages = new Map();
    chat.list.replaceChildren();
    data.messages.forEach((m) => upsertMessage(chat, m, { animate: false }));
    renderEmptyHint(chat);
    setKeyboard(chat, data.keyboard);
    scrollDown(chat);
  });
  rejections = state.rejections || [];
  renderRejections();
}

let loadSeq = 0;

async function loadState() {
  // Loads may overlap (the Reset button and the "reset" event both ask for one). Only the newest
  // applies its state, then replays every event that arrived meanwhile (upserts are idempotent),
  // so a message the bot sent while a load was under way is never dropped.
  const seq = ++loadSeq;
  loading = true;
  let state;
  try {
    state = await api("/api/state");
  } catch (error) {
    if (seq === loadSeq) setTimeout(loadState, 600); // restarting: try again
    return;
  }
  if (seq !== loadSeq) return;
  applyState(state);
  loading = false;
  const queued = pending;
  pending = [];
  queued.forEach(([type, data]) => handleEvent(type, data));
}

// --- actions -------------------------------------------------------------------------------

function showToast(chat, text, alert) {
  const toast = chat.toast;
  toast.textContent = text;
  toast.classList.toggle("alert", Boolean(alert));
  toast.hidden = false;
  clearTimeout(chat.toastTimer);
  toast.onclick = () => { toast.hidden = true; };
  if (!alert) chat.toastTimer = setTimeout(() => { toast.hidden = true; }, 2600);
}

async function act(chat, action) {
  try {
    return await action();
  } catch (error) {
    showToast(chat, "⚠️ " + error.message, false);
    return null;
  }
}

function autoGrow(input) {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 120) + "px";
}

function setReply(chat, message) {
  chat.replyTo = message || null;
  chat.replyBar.hidden = !message;
  if (message) {
    chat.replyBar.querySelector(".reply-bar-title").textContent =
      t(chatLang(chat), "replyTo") + (message.from_bot ? bot.name : chat.data.name);
    chat.replyBar.querySelector(".reply-bar-text").textContent =
      message.text || (message.photo ? "Photo" : message.kind);
    chat.input.focus();
  }
}

function revealMessage(chat, id) {
  const node = chat.list.querySelector('.msg[data-id="' + id + '"]');
  if (!node) return;
  node.scrollIntoView({ block: "center", behavior: "smooth" });
  node.classList.remove("flash");
  void node.offsetWidth;
  node.classList.add("flash");
}

async function sendText(chat, text) {
  const body = { who: chat.who, text };
  if (chat.replyTo) body.reply_to = chat.replyTo.id;
  const result = await act(chat, () => api("/api/send", body));
  if (result) setReply(chat, null);
  return result;
}

async function submitInput(chat) {
  const text = chat.input.value;
  if (!text.trim()) return;
  chat.input.value = "";
  autoGrow(chat.input);
  const result = await sendText(chat, text);
  if (!result) chat.input.value = text;
}

async function sendPhoto(chat) {
  const caption = chat.input.value.trim();
  chat.input.value = "";
  autoGrow(chat.input);
  await act(chat, () => api("/api/photo", { who: chat.who, caption: caption || null }));
}

async function pressButton(chat, message, button, node) {
  if (button.callback_data) {
    node.classList.add("busy");
    setTimeout(() => node.classList.remove("busy"), 1500);
    await act(chat, () => api("/api/press", { who: chat.who, message_id: message.id, data: button.callback_data }));
  } else if (button.url) {
    const href = safeHref(button.url);
    if (href) window.open(href, "_blank", "noopener");
  } else {
    showToast(chat, t(chatLang(chat), "inertButton"), false);
  }
}

async function pressReplyButton(chat, button) {
  if (chat.keyboard && chat.keyboard.one_time) { chat.keyboardHidden = true; renderKeyboard(chat); }
  if (button.request_contact) await act(chat, () => api("/api/contact", { who: chat.who }));
  else if (button.request_location) await act(chat, () => api("/api/location", { who: chat.who }));
  else await sendText(chat, button.text);
}

async function switchLanguage(chat, lang) {
  const buttons = chat.section.querySelectorAll(".lang button");
  buttons.forEach((b) => { b.disabled = true; b.classList.toggle("active", b.dataset.lang === lang); });
  applyPageLanguage(lang); // the page follows the switch pressed last
  const result = await act(chat, () => api("/api/language", { who: chat.who, lang }));
  if (!result) renderHeader(chat);
}

function closePopups() {
  Object.values(chats).forEach((chat) => { chat.commandsMenu.hidden = true; chat.attachMenu.hidden = true; });
}

function togglePopup(chat, popup) {
  const open = popup.hidden;
  closePopups();
  popup.hidden = !open;
}

// --- live updates --------------------------------------------------------------------------

function handleEvent(type, data) {
  if (loading && (type === "message" || type === "edited" || type === "deleted")) {
    pending.push([type, data]);
    return;
  }
  const chat = data && data.who ? chats[data.who] : null;
  switch (type) {
    case "message":
    case "edited":
      if (chat) { upsertMessage(chat, data.message); setKeyboard(chat, data.keyboard); }
      break;
    case "deleted":
      if (chat) removeMessage(chat, data.message_id);
      break;
    case "toast":
      if (chat) showToast(chat, data.text, data.alert);
      break;
    case "rejection":
      rejections.push(data);
      renderRejections();
      break;
    case "language":
    case "reset":
      loadState();
      break;
    default:
      break;
  }
}

function setLive(on) {
  const first = !liveOn && !on && document.getElementById("live-text").dataset.started !== "1";
  liveOn = on;
  document.getElementById("live").classList.toggle("on", on);
  const text = document.getElementById("live-text");
  text.textContent = t(pageLang, on ? "live" : (first ? "connecting" : "reconnecting"));
  if (on) text.dataset.started = "1";
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("hello", () => { setLive(true); loadState(); });
  ["message", "edited", "deleted", "toast", "rejection", "language", "reset"].forEach((type) => {
    source.addEventListener(type, (event) => handleEvent(type, JSON.parse(event.data)));
  });
  source.onerror = () => setLive(false);
}

document.addEventListener("click", (event) => {
  if (!event.target.closest || !event.target.closest(".popup")) closePopups();
});

document.getElementById("reset").addEventListener("click", async () => {
  const button = document.getElementById("reset");
  button.disabled = true;
  button.textContent = t(pageLang, "resetting");
  Object.values(chats).forEach((chat) => { setReply(chat, null); chat.input.value = ""; });
  try {
    await api("/api/reset", {});
    await loadState();
  } catch (error) {
    alert(t(pageLang, "resetFailed") + error.message);
  } finally {
    button.disabled = false;
    button.textContent = t(pageLang, "reset");
  }
});

applyPageLanguage(pageLang);
connect();
