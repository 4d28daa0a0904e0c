/* Leadflow tracking snippet: records page views with first-party cookies and sends them in batches.
   <script src="https://LEADFLOW/t.js" data-site="KEY" async></script>
   Consent: nothing is stored or sent until the page calls leadflow("consent", true), unless the tag
   says data-consent="not-required". leadflow("consent", false) forgets the visitor. Do Not Track and
   Global Privacy Control turn it off. leadflow("visitor") returns the visitor id (for forms). */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  if (!script || w.leadflow && w.leadflow.loaded) return;
  var nav = w.navigator;
  var site = script.getAttribute("data-site") || "";
  var endpoint = new URL("t/collect", script.src).href;
  var optional = script.getAttribute("data-consent") === "not-required";
  var off = nav.doNotTrack === "1" || w.doNotTrack === "1" || nav.globalPrivacyControl === true || !site;
  var VID = "lf_vid", SID = "lf_sid", CONSENT = "lf_consent";
  var YEAR = 34128000, SESSION = 1800, BATCH = 20, DELAY = 3000;
  var given = read(CONSENT);
  var consent = given === "1" || (given !== "0" && optional);
  var queue = [], timer = 0, domain = null, lastUrl = "", referrer = d.referrer;
  /* A click in a Leadflow email adds lf_e=SIGNED to the link: sent once with the next batch, then dropped from the address. */
  var identify = "", EMAIL_PARAM = /([?&])lf_e=([A-Za-z0-9._-]{1,200})(&|$)/;
  var found = location.search.match(EMAIL_PARAM);
  if (found) {
    identify = found[2];
    if (w.history && w.history.replaceState) {
      var search = location.search.replace(EMAIL_PARAM, function (all, lead, value, tail) { return tail ? lead : ""; });
      w.history.replaceState(w.history.state, "", location.pathname + search + location.hash);
    }
  }

  function read(name) {
    var match = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? match[1] : "";
  }
  function write(name, value, seconds, where) {
    d.cookie = name + "=" + value + "; path=/; max-age=" + seconds + "; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "") + (where ? "; domain=" + where : "");
  }
  function cookieDomain() {
    /* The widest domain the browser accepts (example.co.uk, not co.uk), so www. and blog. share one visitor. */
    if (domain !== null) return domain;
    var host = location.hostname, parts = host.split(".");
    domain = "";
    if (parts.length < 2 || /^[\d.]+$|:/.test(host)) return domain;
    for (var i = parts.length - 2; i >= 0; i--) {
      var candidate = parts.slice(i).join(".");
      write("lf_probe", "1", 10, candidate);
      if (read("lf_probe") === "1") {
        write("lf_probe", "", 0, candidate);
        return (domain = candidate);
      }
    }
    return domain;
  }
  function randomId(bytes) {
    var raw = new Uint8Array(bytes), text = "";
    w.crypto.getRandomValues(raw);
    for (var i = 0; i < raw.length; i++) text += String.fromCharCode(raw[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function keep(name, pattern, bytes, seconds) {
    var value = read(name);
    if (!pattern.test(value)) value = randomId(bytes);
    write(name, value, seconds, cookieDomain());
    return value;
  }
  function visitor() {
    return keep(VID, /^[A-Za-z0-9_-]{16,64}$/, 16, YEAR);
  }
  function clean(text, limit) {
    return String(text || "").replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/\s+/g, " ").trim().slice(0, limit);
  }
  function stamp() {
    /* A session lasts while pages follow each other within 30 minutes. */
    for (var i = 0; i < queue.length; i++) {
      if (!queue[i].session) queue[i].session = keep(SID, /^[A-Za-z0-9_-]{8,64}$/, 12, SESSION);
    }
  }
  function pageview() {
    var url = location.href;
    if (off || url === lastUrl) return;
    queue.push({ type: "pageview", url: url.slice(0, 2000), title: clean(d.title, 300),
                 referrer: clean(referrer, 2000), at: Date.now() });
    lastUrl = referrer = url;
    if (consent) {
      stamp();
      if (!timer) timer = setTimeout(flush, DELAY);
    }
  }
  function send(body) {
    try {
      if (nav.sendBeacon && nav.sendBeacon(endpoint, body)) return;
    } catch (e) { /* fall back to fetch */ }
    if (w.fetch) {
      w.fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "no-cors", credentials: "omit",
                          headers: { "Content-Type": "text/plain" } })["catch"](function () {});
    }
  }
  function flush() {
    clearTimeout(timer);
    timer = 0;
    if (off || !consent || !queue.length) return;
    var id = visitor(), now = Date.now();
    stamp();
    while (queue.length) {
      var events = queue.splice(0, BATCH);
      for (var i = 0; i < events.length; i++) {
        var e = events[i];
        events[i] = { type: e.type, url: e.url, title: e.title, referrer: e.referrer, session: e.session,
                      age_ms: Math.min(Math.max(now - e.at, 0), 86400000) };
      }
      var batch = { site: site, visitor: id, consent: given === "1", events: events };
      if (identify) { batch.identify = identify; identify = ""; }
      send(JSON.stringify(batch));
    }
  }
  function forget() {
    var where = cookieDomain();
    write(VID, "", 0, where);
    write(SID, "", 0, where);
    queue = [];
  }
  function leadflow(command, value) {
    if (command === "consent") {
      consent = value === true;
      given = consent ? "1" : "0";
      /* A refusal is remembered only where tracking would otherwise start by itself. */
      write(CONSENT, given, consent || optional ? YEAR : 0, cookieDomain());
      if (!consent) return forget();
      stamp();
      flush();
    } else if (command === "pageview") {
      lastUrl = "";
      pageview();
    } else if (command === "visitor") {
      return !off && consent && read(VID) ? read(VID) : "";
    }
  }

  var waiting = w.leadflow && w.leadflow.q || [];
  leadflow.loaded = true;
  w.leadflow = leadflow;
  pageview();
  for (var i = 0; i < waiting.length; i++) leadflow.apply(null, waiting[i]);

  /* Single-page sites: a new history entry is a new page. */
  var push = w.history && w.history.pushState;
  if (push) {
    w.history.pushState = function () {
      var result = push.apply(this, arguments);
      setTimeout(pageview, 0);
      return result;
    };
    w.addEventListener("popstate", function () { setTimeout(pageview, 0); });
  }
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") flush(); });
  w.addEventListener("pagehide", flush);
})(window, document);
