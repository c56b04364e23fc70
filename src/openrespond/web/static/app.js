// openrespond app: live updates, in-place form posts, keyboard shortcuts, @mentions.
// The pages work without this file; it only makes them quicker to use.
"use strict";
(function () {
  const body = document.body;
  const ws = body.dataset.workspace;

  // -- swapping in a fresh copy of the page -------------------------------------------------
  const REGIONS = ["#rows", ".tabs", ".more", "#timeline", "#panel", ".conv-head", "#live-region"];

  function atBottom(el) {
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  }

  function swap(html, { composer = false } = {}) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const timeline = document.querySelector("#timeline");
    const stick = atBottom(timeline);
    const focusedId = document.activeElement && document.activeElement.id;
    const regions = composer ? [...REGIONS, "#composer"] : REGIONS;
    for (const sel of regions) {
      const fresh = doc.querySelector(sel);
      const old = document.querySelector(sel);
      if (!fresh || !old) continue;
      // A region that is itself a form being filled in (deliveries being chosen) stays.
      if (!composer && old.matches("form[data-dirty]")) continue;
      // A form being filled in keeps what was chosen or typed: a change made elsewhere
      // must not undo it (the rest of the region is refreshed around it).
      if (!composer) {
        for (const form of old.querySelectorAll("form[data-dirty]")) {
          const twin = fresh.querySelector(`form[action="${CSS.escape(form.getAttribute("action"))}"]`);
          if (twin) twin.replaceWith(form);
        }
        for (const details of old.querySelectorAll("details[id][open]")) {
          const twin = fresh.querySelector(`#${CSS.escape(details.id)}`);
          if (twin) twin.open = true;
        }
      }
      old.replaceWith(fresh);
    }
    document.title = doc.title;
    const t = document.querySelector("#timeline");
    if (t && stick) t.scrollTop = t.scrollHeight;
    if (focusedId) {
      const again = document.getElementById(focusedId);
      if (again && again !== document.activeElement) again.focus();
    }
    setup();
  }

  let refreshing = null;
  let again = false;
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => { if (html) swap(html); })
      .catch(() => {})
      .finally(() => {
        refreshing = null;
        if (again) { again = false; refresh(); }
      });
  }

  // -- live updates (server-sent events) ---------------------------------------------------
  if (ws && window.EventSource && !location.pathname.includes("/settings")) {
    // ``since``: changes made between the page's rendering and this stream still refresh it.
    const since = body.dataset.liveSince ? `?since=${encodeURIComponent(body.dataset.liveSince)}` : "";
    const source = new EventSource(`/app/${ws}/live${since}`);
    let timer = null;
    // Only the console shows API requests and webhook deliveries: other pages do not
    // refresh (and disturb what is being typed) for them.
    const console_ = location.pathname.includes("/console");
    const consoleOnly = new Set(["api.request", "webhook.delivery"]);
    source.addEventListener("change", (event) => {
      let kinds = [];
      try { kinds = JSON.parse(event.data).kinds || []; } catch (e) { kinds = []; }
      if (!console_ && kinds.length && kinds.every((k) => consoleOnly.has(k))) return;
      // A burst of changes becomes one refresh.
      if (timer) return;
      timer = setTimeout(() => { timer = null; refresh(); }, 100);
    });
  }

  // -- the channel form: only the chosen driver's settings ---------------------------------
  function setupChannelForm() {
    const form = document.querySelector("#channel-form");
    const driver = form && form.querySelector("select[name=driver]");
    if (!driver) return;
    const update = () => {
      for (const set of form.querySelectorAll("fieldset.driver")) {
        const on = set.dataset.driver === driver.value;
        set.hidden = !on;
        set.disabled = !on;
      }
    };
    driver.onchange = update;
    update();
  }
  setupChannelForm();

  // -- copy buttons (a token or key shown once) -------------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (e) {
      document.execCommand("copy");
    }
    button.textContent = "Copied";
  });

  // -- forms posted in place ---------------------------------------------------------------
  for (const kind of ["input", "change"]) {
    document.addEventListener(kind, (event) => {
      const form = event.target.form;
      if (form && form.method === "post") form.dataset.dirty = "1";
    });
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") return;
    if (!form.closest("#conversation")) return;
    event.preventDefault();
    delete form.dataset.dirty;
    const data = new FormData(form);
    if (event.submitter && event.submitter.name) data.set(event.submitter.name, event.submitter.value);
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": body.dataset.csrf || "" },
      });
      const html = await response.text();
      if (response.ok) {
        const text = form.querySelector("textarea");
        if (text && form.classList.contains("compose")) text.value = "";
        for (const input of form.querySelectorAll("input[type=file]")) input.value = "";
        swap(html);
        if (text && form.classList.contains("compose")) text.focus();
      } else if (html.includes('id="conversation"')) {
        swap(html, { composer: true });
        const invalid = document.querySelector("[aria-invalid=true]");
        // The form with the error is being filled in: a live refresh keeps it, error and all.
        if (invalid && invalid.form) invalid.form.dataset.dirty = "1";
        if (invalid) invalid.focus();
      } else {
        document.open(); document.write(html); document.close();
      }
    } finally {
      if (button) button.disabled = false;
    }
  });

  // -- keyboard ----------------------------------------------------------------------------
  function typing(el) {
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  }

  function rows() { return Array.from(document.querySelectorAll("#rows a.row")); }

  document.addEventListener("keydown", (event) => {
    const el = document.activeElement;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && el && el.matches("textarea[data-send]")) {
      event.preventDefault();
      el.form.requestSubmit();
      return;
    }
    if (typing(el) || event.altKey || event.ctrlKey || event.metaKey) return;
    const list = rows();
    const at = list.indexOf(el);
    const current = list.findIndex((a) => a.hasAttribute("aria-current"));
    const from = at >= 0 ? at : current;
    if (event.key === "j" || (event.key === "ArrowDown" && at >= 0)) {
      const next = list[Math.min(from + 1, list.length - 1)];
      if (next) { event.preventDefault(); next.focus(); }
    } else if (event.key === "k" || (event.key === "ArrowUp" && at >= 0)) {
      const prev = list[Math.max(from - 1, 0)];
      if (prev) { event.preventDefault(); prev.focus(); }
    } else if (event.key === "r") {
      const reply = document.querySelector("#reply-text");
      if (reply) { event.preventDefault(); reply.focus(); }
    } else if (event.key === "c") {
      const note = document.querySelector("#comment-text");
      if (note) { event.preventDefault(); note.focus(); }
    } else if (event.key === "/") {
      const q = document.querySelector("#q");
      if (q) { event.preventDefault(); q.focus(); }
    }
  });

  // -- the reply form: the types a channel carries -----------------------------------------
  function setupReply() {
    const form = document.querySelector("#reply-form");
    if (!form) return;
    const channel = form.querySelector("#reply-channel");
    const type = form.querySelector("#reply-type");
    if (!channel || !type) return;
    const update = () => {
      const allowed = (channel.selectedOptions[0]?.dataset.types || "text").split(" ");
      for (const option of type.options) option.hidden = option.disabled = !allowed.includes(option.value);
      if (type.selectedOptions[0]?.disabled) type.value = allowed[0];
      form.classList.toggle("email", type.value === "email");
      const template = type.value === "whatsapp_template";
      form.classList.toggle("template", template);
      // Only the chosen channel's template picker, and only the chosen template's values,
      // are shown and sent.
      for (const set of form.querySelectorAll("fieldset.template-only")) {
        const on = template && set.dataset.channel === channel.value;
        set.hidden = !on;
        set.disabled = !on;
        const picked = set.querySelector("select[name=template]");
        for (const fields of set.querySelectorAll(".template-fields")) {
          const show = on && picked && fields.dataset.template === picked.value;
          fields.hidden = !show;
          for (const input of fields.querySelectorAll("input")) input.disabled = !show;
        }
        if (picked) picked.onchange = update;
      }
      const text = form.querySelector("#reply-text");
      if (text) text.hidden = template;
    };
    channel.onchange = update;
    type.onchange = update;
    update();
  }

  // -- completion menus: @mentions in comments, /canned replies in the reply box ---------------
  // ``trigger`` finds what is being typed before the caret; ``choices`` filters the items for it;
  // ``text`` is what replaces it.
  function completer(area, { id, trigger, choices, label, text }) {
    if (area.dataset.ready) return;
    area.dataset.ready = "1";
    const menu = document.createElement("ul");
    menu.className = "mention-menu";
    menu.id = id;
    menu.setAttribute("role", "listbox");
    menu.hidden = true;
    area.after(menu);
    area.setAttribute("aria-controls", id);
    let matches = [];
    let chosen = 0;
    const query = () => {
      const upto = area.value.slice(0, area.selectionStart);
      const m = trigger.exec(upto);
      return m ? { start: upto.length - m[0].length + m[1].length, text: m[2].toLowerCase() } : null;
    };
    const close = () => { menu.hidden = true; matches = []; };
    const insert = (item) => {
      const q = query();
      if (!q) return;
      const value = text(item);
      area.value = area.value.slice(0, q.start) + value + area.value.slice(area.selectionStart);
      const caret = q.start + value.length;
      area.setSelectionRange(caret, caret);
      close();
      area.focus();
    };
    const draw = () => {
      menu.replaceChildren(...matches.map((item, i) => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = `${id}-${i}`;
        li.setAttribute("aria-selected", String(i === chosen));
        li.textContent = label(item);
        li.addEventListener("mousedown", (e) => { e.preventDefault(); insert(item); });
        return li;
      }));
      menu.hidden = matches.length === 0;
    };
    area.addEventListener("input", () => {
      const q = query();
      if (!q) { close(); return; }
      matches = choices(q.text).slice(0, 8);
      chosen = 0;
      draw();
    });
    area.addEventListener("keydown", (event) => {
      if (menu.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        chosen = (chosen + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
        draw();
      } else if (event.key === "Enter" || event.key === "Tab") {
        if (event.ctrlKey || event.metaKey) return;
        event.preventDefault();
        insert(matches[chosen]);
      } else if (event.key === "Escape") {
        close();
      }
    });
    area.addEventListener("blur", () => setTimeout(close, 150));
  }

  function setupCompletion() {
    const note = document.querySelector("textarea[data-mentions]");
    if (note) {
      const users = JSON.parse(note.dataset.mentions || "[]");
      completer(note, {
        id: "mention-menu",
        trigger: /(^|\s)@([^\s@]*)$/,
        choices: (q) => users.filter((u) => u.name.toLowerCase().includes(q) || u.email.includes(q)),
        label: (u) => `${u.name} <${u.email}>`,
        text: (u) => `@[${u.email}] `,
      });
    }
    const reply = document.querySelector("textarea[data-canned]");
    if (reply) {
      const canned = JSON.parse(reply.dataset.canned || "[]");
      completer(reply, {
        id: "canned-menu",
        trigger: /(^|\s)\/([a-z0-9_-]*)$/,
        choices: (q) => canned.filter((c) => c.code.startsWith(q)),
        label: (c) => `/${c.code} — ${c.text.length > 60 ? c.text.slice(0, 59) + "…" : c.text}`,
        text: (c) => c.text,
      });
    }
  }

  // -- an import's progress ----------------------------------------------------------------
  async function poll() {
    const status = document.querySelector("#import-status[data-poll]");
    if (!status) return;
    try {
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (response.ok) {
        const doc = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = doc.querySelector("#import-status");
        if (fresh) status.replaceWith(fresh);
      }
    } catch (_) { /* the next poll tries again */ }
    const next = document.querySelector("#import-status[data-poll]");
    if (next) setTimeout(poll, Number(next.dataset.poll) || 500);
  }
  if (document.querySelector("#import-status[data-poll]")) setTimeout(poll, 250);

  function setup() {
    setupReply();
    setupCompletion();
    const t = document.querySelector("#timeline");
    if (t && !t.dataset.scrolled) { t.dataset.scrolled = "1"; t.scrollTop = t.scrollHeight; }
  }
  setup();
})();
