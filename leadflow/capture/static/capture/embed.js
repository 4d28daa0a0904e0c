/* Leadflow embedded form: drawn into the host page where its <script> tag sits, in the page's own
   fonts and colours (form.css), posted to the form's JSON endpoint, thanked in place. The server puts
   the form's settings and form.css where the CONFIG mark is. */
(function (config) {
  "use strict";
  var script = document.currentScript;
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  var STYLE_ID = "leadflow-embed-style";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] === true) node.setAttribute(name, "");
      else if (attrs[name] !== false && attrs[name] != null) node.setAttribute(name, attrs[name]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function addStyle() {
    if (document.getElementById(STYLE_ID)) return;
    var style = el("style", { id: STYLE_ID });
    // The rules of form.css, put in by the server: first in <head>, so the page's own rules come later and win.
    style.textContent = config.css;
    var head = document.head || document.documentElement;
    head.insertBefore(style, head.firstChild);
  }

  function sourceValues() {
    var params = new URLSearchParams(location.search), stored = {}, utm = {}, fresh = false;
    try { stored = JSON.parse(sessionStorage.getItem("lf_src") || "{}") || {}; } catch (e) { stored = {}; }
    UTM.forEach(function (name) { var value = params.get(name); if (value) { utm[name] = value; fresh = true; } });
    if (fresh || !stored.landing_page) {
      stored = Object.assign(utm, { landing_page: location.href, referrer: document.referrer || "" });
      try { sessionStorage.setItem("lf_src", JSON.stringify(stored)); } catch (e) { /* storage may be off */ }
    }
    var cookie = document.cookie.match(/(?:^|; )lf_vid=([^;]+)/);
    var values = Object.assign({}, stored, { page_url: location.href });
    if (cookie) values.visitor_id = decodeURIComponent(cookie[1]);
    return values;
  }

  function fieldNode(field, id) {
    var wrap = el("div", { "class": "lf-field lf-field-" + field.type, "data-name": field.name });
    var common = { id: id, name: field.name, required: field.required, "aria-describedby": id + "-error" };
    if (field.type === "checkbox") {
      var check = el("label", { "class": "lf-check" });
      check.appendChild(el("input", Object.assign({ type: "checkbox", value: "yes" }, common)));
      check.appendChild(el("span", {}, field.label));
      wrap.appendChild(check);
    } else {
      var label = el("label", { "for": id }, field.label);
      if (!field.required) label.appendChild(el("span", { "class": "lf-optional" }, " (optional)"));
      wrap.appendChild(label);
      var input;
      if (field.type === "textarea") {
        input = el("textarea", Object.assign({ rows: 4, placeholder: field.placeholder || null }, common));
      } else if (field.type === "select") {
        input = el("select", common);
        input.appendChild(el("option", { value: "" }, field.placeholder || "Choose…"));
        field.options.forEach(function (option) { input.appendChild(el("option", {}, option)); });
      } else {
        input = el("input", Object.assign({
          type: field.type, autocomplete: field.autocomplete, placeholder: field.placeholder || null
        }, common));
      }
      wrap.appendChild(input);
    }
    wrap.appendChild(el("p", { "class": "lf-error", id: id + "-error", hidden: true }));
    return wrap;
  }

  function build(root, prefix) {
    if (config.title) root.appendChild(el("h2", { "class": "lf-title" }, config.title));
    if (config.intro) root.appendChild(el("p", { "class": "lf-intro" }, config.intro));
    var form = el("form", { novalidate: true, "accept-charset": "utf-8" });
    config.fields.forEach(function (field) { form.appendChild(fieldNode(field, prefix + "-" + field.name)); });
    if (config.consent.mode !== "none") {
      form.appendChild(fieldNode({
        name: "consent", type: "checkbox", label: config.consent.text, required: config.consent.mode === "required"
      }, prefix + "-consent"));
    }
    var trap = el("div", { "class": "lf-hp", "aria-hidden": "true" });
    var trapLabel = el("label", {}, "Leave this empty ");
    trapLabel.appendChild(el("input", { type: "text", name: config.honeypot, tabindex: "-1", autocomplete: "off" }));
    trap.appendChild(trapLabel);
    form.appendChild(trap);
    form.appendChild(el("button", { type: "submit" }, config.submitLabel || "Send"));
    form.appendChild(el("p", { "class": "lf-status", role: "status", "aria-live": "polite" }));
    root.appendChild(form);
    return form;
  }

  function showError(form, name, message) {
    var wrap = form.querySelector('[data-name="' + name + '"]');
    if (!wrap) return false;
    var input = wrap.querySelector("input, select, textarea"), note = wrap.querySelector(".lf-error");
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
    note.textContent = message || "";
    note.hidden = !message;
    return true;
  }

  function clientErrors(form) {
    var errors = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-name] input, [data-name] select, [data-name] textarea"), function (input) {
      if (input.validity.valueMissing) errors[input.name] = input.type === "checkbox" ? "Please tick this box." : "Please fill this in.";
      else if (input.validity.typeMismatch) errors[input.name] = "Please enter a valid email address.";
    });
    return errors;
  }

  function collect(form) {
    var body = sourceValues();
    config.fields.forEach(function (field) {
      var input = form.elements[field.name];
      body[field.name] = field.type === "checkbox" ? input.checked : input.value;
    });
    if (form.elements.consent) body.consent = form.elements.consent.checked;
    body[config.honeypot] = form.elements[config.honeypot].value;
    body._lf_token = config.token;
    body._lf_channel = "embed";
    return body;
  }

  function thank(root, message) {
    var done = el("div", { "class": "lf-done", role: "status", tabindex: "-1" }, message);
    root.replaceChildren(done);
    done.focus();
  }

  function handleAnswer(root, form, status, response, data) {
    if (status >= 200 && status < 300) {
      if (data && data.redirect) { location.assign(data.redirect); return; }
      thank(root, (data && data.message) || config.successMessage);
      return;
    }
    var errors = (data && data.errors) || {}, general = [];
    Object.keys(errors).forEach(function (name) { if (!showError(form, name, errors[name])) general.push(errors[name]); });
    if (status === 429) {
      var minutes = Math.max(1, Math.round(Number(response.headers.get("Retry-After") || 60) / 60));
      general.push("Too many submissions from your network just now; please try again in " + minutes + " minute" + (minutes === 1 ? "" : "s") + ".");
    } else if (!Object.keys(errors).length) {
      general.push((data && data.detail) || "Something went wrong; please try again.");
    }
    form.querySelector(".lf-status").textContent = general.length ? general.join(" ") : "Please check the fields marked above.";
    var invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }

  function send(root, form) {
    var button = form.querySelector("button[type=submit]"), status = form.querySelector(".lf-status");
    config.fields.concat([{ name: "consent" }]).forEach(function (field) { showError(form, field.name, ""); });
    var errors = clientErrors(form);
    if (Object.keys(errors).length) {
      Object.keys(errors).forEach(function (name) { showError(form, name, errors[name]); });
      status.textContent = "Please check the fields marked above.";
      form.querySelector('[aria-invalid="true"]').focus();
      return;
    }
    button.disabled = true;
    status.textContent = "Sending…";
    fetch(config.submitUrl, {
      method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(collect(form))
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        handleAnswer(root, form, response.status, response, data);
      });
    }).catch(function () {
      status.textContent = "The form could not be sent. Check your connection and try again.";
    }).then(function () { button.disabled = false; });
  }

  function start() {
    if (!script || !script.parentNode) return;
    window.__leadflowForms = (window.__leadflowForms || 0) + 1;
    var prefix = "lf-" + config.slug + "-" + window.__leadflowForms;
    var root = el("div", { "class": "lf-embed", "data-leadflow-form": config.slug });
    script.parentNode.insertBefore(root, script);
    addStyle();
    sourceValues();
    if (!config.allowed) {
      console.warn("Leadflow: add " + location.origin + " to the allowed websites of form '" + config.slug + "'.");
      root.appendChild(el("p", { "class": "lf-status" }, "This form is not set up for this website yet."));
      return;
    }
    var form = build(root, prefix);
    form.addEventListener("submit", function (event) { event.preventDefault(); send(root, form); });
    form.addEventListener("input", function (event) {
      var wrap = event.target.closest("[data-name]");
      if (wrap && wrap.querySelector('[aria-invalid="true"]')) showError(form, wrap.dataset.name, "");
      if (!form.querySelector('[aria-invalid="true"]')) form.querySelector(".lf-status").textContent = "";
    });
  }

  start();
})(/*CONFIG*/);
