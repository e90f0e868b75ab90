// helpdesk Mini App: the requester's tickets (refreshed every 15 s and when the app becomes
// visible again), a ticket's timeline, and the new-ticket / cartridge-order form.
//
// Every API call sends `Authorization: tma <initData>`; the server checks Telegram's
// signature. initData comes from Telegram.WebApp (telegram-web-app.js) or, when that script
// is unavailable, from the `#tgWebAppData=` fragment Telegram puts in the URL.
// No inline script anywhere (the page's CSP forbids it).
"use strict";

(function () {
  var REFRESH_MS = 15000;
  var SDK_WAIT_MS = 3000;

  var state = {
    initData: "",
    webApp: null,
    me: null,
    texts: {},
    view: "list",
    openId: null,
    timer: null,
    requestId: null,
    printers: [],
  };

  function $(id) {
    return document.getElementById(id);
  }

  function t(key, args) {
    var s = state.texts[key] || key;
    if (args) {
      Object.keys(args).forEach(function (k) {
        s = s.split("{" + k + "}").join(String(args[k]));
      });
    }
    return s;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function show(id, on) {
    $(id).hidden = !on;
  }

  function notice(text, kind) {
    var n = $("notice");
    n.textContent = text || "";
    n.className = kind || "";
    n.hidden = !text;
  }

  // Removes an error notice (a confirmation stays until the next action).
  function clearError() {
    if ($("notice").className === "error") notice("");
  }

  function fmtTime(unix) {
    var d = new Date(unix * 1000);
    var lang = (state.me && state.me.lang) || "ru";
    try {
      return d.toLocaleString(lang, {
        day: "2-digit",
        month: "2-digit",
        year: "numeric",
        hour: "2-digit",
        minute: "2-digit",
      });
    } catch (e) {
      return d.toISOString();
    }
  }

  // ----- Telegram -----

  // A launch parameter Telegram puts in the URL fragment (`#tgWebAppData=…&…`).
  function fragmentParam(name) {
    var hash = window.location.hash ? window.location.hash.slice(1) : "";
    if (!hash) return "";
    try {
      return new URLSearchParams(hash).get(name) || "";
    } catch (e) {
      return "";
    }
  }

  function fragmentInitData() {
    return fragmentParam("tgWebAppData");
  }

  function fragmentTheme() {
    try {
      return JSON.parse(fragmentParam("tgWebAppThemeParams") || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  function applyTheme() {
    var root = document.documentElement;
    var wa = state.webApp;
    var params = (wa && wa.themeParams) || fragmentTheme();
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (typeof v === "string" && /^#[0-9a-fA-F]{3,8}$/.test(v)) {
        root.style.setProperty("--tg-theme-" + k.replace(/_/g, "-"), v);
      }
    });
    var scheme = wa && wa.colorScheme;
    if (!scheme && params.bg_color) scheme = isDark(params.bg_color) ? "dark" : "light";
    if (scheme === "dark" || scheme === "light") {
      root.setAttribute("data-scheme", scheme);
    }
  }

  // Whether a #rrggbb colour is dark (for the colour scheme when only a theme is known).
  function isDark(hex) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    if (!m) return false;
    var r = parseInt(m[1], 16),
      g = parseInt(m[2], 16),
      b = parseInt(m[3], 16);
    return 0.299 * r + 0.587 * g + 0.114 * b < 128;
  }

  function withSdk(start) {
    var waited = 0;
    (function check() {
      if (window.Telegram && window.Telegram.WebApp) return start(window.Telegram.WebApp);
      if (waited >= SDK_WAIT_MS) return start(null);
      waited += 100;
      setTimeout(check, 100);
    })();
  }

  // ----- API -----

  function api(method, path, body) {
    var opts = {
      method: method,
      headers: { Authorization: "tma " + state.initData },
      cache: "no-store",
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch("/app/api/" + path, opts).then(
      function (r) {
        return r
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: r.status, data: data };
          });
      },
      function () {
        return { status: 0, data: {} };
      }
    );
  }

  // Shows why the app cannot go on; true when the answer was such a refusal.
  function refused(res) {
    if (res.status === 401) {
      fatal(t("err.auth") !== "err.auth" ? t("err.auth") : res.data.message);
      return true;
    }
    if (res.status === 403) {
      fatal(res.data.message || "403");
      return true;
    }
    return false;
  }

  function fatal(text) {
    stopPolling();
    ["view-list", "view-detail", "view-new", "tabs"].forEach(function (id) {
      show(id, false);
    });
    show("boot", true);
    var p = $("boot");
    p.textContent = "";
    p.appendChild(el("p", "error", text)).id = "fatal";
  }

  // ----- views -----

  function setView(view) {
    state.view = view;
    show("view-list", view === "list");
    show("view-detail", view === "detail");
    show("view-new", view === "new");
    $("tab-tickets").classList.toggle("active", view !== "new");
    $("tab-new").classList.toggle("active", view === "new");
    var back = state.webApp && state.webApp.BackButton;
    if (back) {
      try {
        if (view === "list") back.hide();
        else back.show();
      } catch (e) {
        /* older clients */
      }
    }
    if (view === "new") openForm();
  }

  function renderList(tickets) {
    var ul = $("tickets");
    ul.textContent = "";
    tickets.forEach(function (tk) {
      var li = el("li", "ticket");
      li.setAttribute("data-id", tk.id);
      li.setAttribute("data-status", tk.status);
      li.tabIndex = 0;
      var head = el("div", "row");
      head.appendChild(el("span", "number", tk.number));
      head.appendChild(el("span", "status status-" + tk.status, tk.status_label));
      li.appendChild(head);
      li.appendChild(el("div", "subject", tk.subject));
      li.appendChild(el("div", "meta muted", tk.category_label + " · " + fmtTime(tk.updated_at)));
      li.addEventListener("click", function () {
        openTicket(tk.id);
      });
      li.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter") openTicket(tk.id);
      });
      ul.appendChild(li);
    });
    $("empty").textContent = t("list.empty");
    show("empty", tickets.length === 0);
    $("updated").textContent = t("list.updated") + ": " + new Date().toLocaleTimeString(state.me.lang);
  }

  function refreshList() {
    return api("GET", "tickets").then(function (res) {
      if (refused(res)) return;
      if (res.status !== 200) {
        notice(t("err.network"), "error");
        return;
      }
      clearError();
      renderList(res.data.tickets || []);
    });
  }

  function renderDetail(data) {
    var tk = data.ticket;
    var box = $("detail");
    box.textContent = "";
    box.setAttribute("data-id", tk.id);
    var h = el("h2", null, tk.number + " · " + tk.subject);
    box.appendChild(h);
    var st = el("p");
    st.appendChild(el("span", "status status-" + tk.status, tk.status_label));
    st.appendChild(document.createTextNode(" " + tk.category_label + " · " + tk.priority_label));
    st.id = "detail-status";
    box.appendChild(st);
    if (tk.assignee) box.appendChild(el("p", "muted", t("detail.assignee") + ": " + tk.assignee));
    box.appendChild(el("p", "muted", t("detail.created") + ": " + fmtTime(tk.created_at)));
    if (tk.description) box.appendChild(el("p", "description", tk.description));
    if (tk.order_lines && tk.order_lines.length) {
      box.appendChild(el("h3", null, t("detail.order")));
      var ol = el("ul", "order");
      tk.order_lines.forEach(function (l) {
        ol.appendChild(el("li", null, l.name + " (" + l.sku + ") × " + l.quantity));
      });
      box.appendChild(ol);
    }
    box.appendChild(el("h3", null, t("detail.timeline")));
    var tl = el("ol", "timeline");
    tl.id = "timeline";
    (data.timeline || []).forEach(function (ev) {
      var li = el("li", "ev ev-" + ev.kind);
      li.appendChild(el("span", "when muted", fmtTime(ev.at)));
      li.appendChild(el("span", "what", ev.text));
      if (ev.body) li.appendChild(el("div", "body", ev.body));
      tl.appendChild(li);
    });
    box.appendChild(tl);
  }

  function openTicket(id) {
    state.openId = id;
    return api("GET", "tickets/" + encodeURIComponent(id)).then(function (res) {
      if (refused(res)) return;
      if (res.status !== 200) {
        notice(res.data.message || t("err.network"), "error");
        return;
      }
      clearError();
      renderDetail(res.data);
      if (state.view !== "detail") setView("detail");
    });
  }

  function refresh() {
    if (state.view === "detail" && state.openId !== null) {
      return openTicket(state.openId);
    }
    return refreshList();
  }

  function startPolling() {
    stopPolling();
    state.timer = setInterval(function () {
      if (document.visibilityState === "visible") refresh();
    }, REFRESH_MS);
  }

  function stopPolling() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  // ----- the form -----

  function option(value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }

  function newRequestId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var a = new Uint8Array(16);
    window.crypto.getRandomValues(a);
    return Array.prototype.map
      .call(a, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function formError(text) {
    var p = $("form-error");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function openForm() {
    if (!state.requestId) state.requestId = newRequestId();
    formError("");
    syncCategory();
  }

  function isOrder() {
    return $("f-category").value === "cartridge_order";
  }

  function syncCategory() {
    show("order-fields", isOrder());
    if (isOrder() && !state.printers.length) loadPrinters();
  }

  function loadPrinters() {
    return api("GET", "printers").then(function (res) {
      if (refused(res) || res.status !== 200) return;
      state.printers = res.data.printers || [];
      var sel = $("f-printer");
      sel.textContent = "";
      sel.appendChild(option("", t("new.choose")));
      state.printers.forEach(function (p) {
        sel.appendChild(option(p, p));
      });
      var none = $("no-items");
      if (!state.printers.length) {
        none.textContent = t("new.no_printers");
        none.hidden = false;
      }
    });
  }

  function loadItems() {
    var printer = $("f-printer").value;
    var sel = $("f-item");
    sel.textContent = "";
    $("no-items").hidden = true;
    if (!printer) return Promise.resolve();
    return api("GET", "items?printer=" + encodeURIComponent(printer)).then(function (res) {
      if (refused(res) || res.status !== 200) return;
      if (printer !== $("f-printer").value) return; // another model was chosen meanwhile
      var items = res.data.items || [];
      sel.appendChild(option("", t("new.choose")));
      items.forEach(function (it) {
        sel.appendChild(option(it.sku, it.name + " — " + t("new.in_stock", { n: it.quantity })));
      });
      if (items.length === 1) sel.value = items[0].sku;
      if (!items.length) {
        $("no-items").textContent = t("new.no_items");
        $("no-items").hidden = false;
      }
    });
  }

  function submit(ev) {
    ev.preventDefault();
    formError("");
    notice("");
    var body = {
      category: $("f-category").value,
      priority: $("f-priority").value,
      description: $("f-description").value,
      request_id: state.requestId,
    };
    if (isOrder()) {
      body.printer = $("f-printer").value;
      body.sku = $("f-item").value;
      var q = $("f-quantity").value.trim();
      body.quantity = /^-?\d+$/.test(q) ? parseInt(q, 10) : null;
    }
    var button = $("submit");
    button.disabled = true;
    button.textContent = t("new.sending");
    api("POST", "tickets", body).then(function (res) {
      button.disabled = false;
      button.textContent = t("new.submit");
      if (refused(res)) return;
      if (res.status === 201) {
        state.requestId = null;
        $("new-form").reset();
        $("f-priority").value = state.me.default_priority;
        notice(res.data.message, "ok");
        if (state.webApp && state.webApp.HapticFeedback) {
          try {
            state.webApp.HapticFeedback.notificationOccurred("success");
          } catch (e) {
            /* not supported */
          }
        }
        state.openId = null;
        setView("list");
        refreshList();
        return;
      }
      formError(res.status === 0 ? t("err.network") : res.data.message || String(res.status));
    });
  }

  function buildForm() {
    var me = state.me;
    $("l-category").textContent = t("new.category");
    $("l-printer").textContent = t("new.printer");
    $("l-item").textContent = t("new.item");
    $("l-quantity").textContent = t("new.quantity", { max: me.max_quantity });
    $("l-description").textContent = t("new.description");
    $("f-description").placeholder = t("new.description_hint");
    $("f-description").maxLength = me.max_text;
    $("l-priority").textContent = t("new.priority");
    $("submit").textContent = t("new.submit");
    $("f-quantity").max = me.max_quantity;
    var cat = $("f-category");
    cat.textContent = "";
    me.categories.forEach(function (c) {
      cat.appendChild(option(c.value, c.label));
    });
    var pr = $("f-priority");
    pr.textContent = "";
    me.priorities.forEach(function (p) {
      pr.appendChild(option(p.value, p.label));
    });
    pr.value = me.default_priority;
    cat.addEventListener("change", syncCategory);
    $("f-printer").addEventListener("change", loadItems);
    $("new-form").addEventListener("submit", submit);
  }

  // ----- start -----

  function start(webApp) {
    state.webApp = webApp;
    state.initData = (webApp && webApp.initData) || fragmentInitData();
    applyTheme();
    if (webApp) {
      try {
        webApp.ready();
        webApp.expand();
        webApp.onEvent("themeChanged", applyTheme);
        if (webApp.BackButton) {
          webApp.BackButton.onClick(function () {
            state.openId = null;
            setView("list");
            refreshList();
          });
        }
      } catch (e) {
        /* an older client: the app works without these */
      }
    }
    if (!state.initData) return; // the page already says to open it from Telegram
    api("GET", "me").then(function (res) {
      if (res.status === 401) {
        fatal(res.data.message || "401");
        return;
      }
      if (refused(res)) return;
      if (res.status !== 200) {
        fatal(res.data.message || "The server cannot be reached.");
        return;
      }
      state.me = res.data;
      state.texts = res.data.texts || {};
      document.documentElement.lang = state.me.lang;
      document.title = t("title");
      $("title").textContent = t("title");
      $("tab-tickets").textContent = t("tab.tickets");
      $("tab-new").textContent = t("tab.new");
      $("back").textContent = t("detail.back");
      show("boot", false);
      show("tabs", true);
      buildForm();
      $("tab-tickets").addEventListener("click", function () {
        state.openId = null;
        setView("list");
        refreshList();
      });
      $("tab-new").addEventListener("click", function () {
        setView("new");
      });
      $("back").addEventListener("click", function () {
        state.openId = null;
        setView("list");
        refreshList();
      });
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "visible") refresh();
      });
      setView("list");
      refreshList().then(startPolling);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    withSdk(start);
  });
})();
