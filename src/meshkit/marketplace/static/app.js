// meshkit marketplace: client-side search and filters, copy buttons. No dependencies.
(function () {
  "use strict";
  var index = window.MESH_INDEX || [];
  var search = document.getElementById("search");
  var results = document.getElementById("results");
  var count = document.getElementById("count");
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var cards = Array.prototype.slice.call(document.querySelectorAll(".product-card"));

  function filters() {
    var f = {};
    selects.forEach(function (s) { if (s.value) { f[s.dataset.filter] = s.value; } });
    return f;
  }

  function passes(entry, f) {
    if (f.domain && entry.d !== f.domain) { return false; }
    if (f.status && entry.s !== f.status) { return false; }
    if (f.health && entry.h !== f.health) { return false; }
    if (f.classification && (entry.c || []).indexOf(f.classification) < 0) { return false; }
    return true;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }  // text only: metadata is user input
    return node;
  }

  function render() {
    var words = (search ? search.value : "").toLowerCase().split(/\s+/).filter(Boolean);
    var f = filters();
    var hitProducts = {};
    var hits = index.filter(function (e) {
      if (e.k !== "domain" && !passes(e, f)) { return false; }
      if (e.k === "domain" && f.domain && e.d !== f.domain) { return false; }
      return words.length > 0 && words.every(function (w) { return e.q.indexOf(w) >= 0; });
    });
    hits.forEach(function (e) { if (e.k !== "domain") { hitProducts[e.t.split(".").slice(0, 2).join(".")] = true; } });
    var shown = 0;
    cards.forEach(function (card) {
      var entry = { d: card.dataset.domain, s: card.dataset.status, h: card.dataset.health,
                    c: card.dataset.classes.split(" ") };
      var ok = passes(entry, f) && (words.length === 0 || hitProducts[card.dataset.address]);
      card.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) { count.textContent = shown + " of " + cards.length + " products"; }
    if (!results) { return; }
    results.textContent = "";
    results.hidden = words.length === 0;
    if (words.length === 0) { return; }
    if (hits.length === 0) { results.appendChild(el("div", "hit muted", "No match.")); return; }
    hits.slice(0, 40).forEach(function (e) {
      var a = el("a", "hit");
      a.href = e.u;
      a.appendChild(el("span", "badge kind", e.k));
      a.appendChild(document.createTextNode(" "));
      a.appendChild(el("span", "t", e.t));
      var matched = (e.f || []).filter(function (field) {
        var low = field.toLowerCase();
        return words.some(function (w) { return low.indexOf(w) >= 0; });
      });
      if (matched.length) { a.appendChild(el("span", "f", matched.slice(0, 4).join(" · "))); }
      if (e.x) { a.appendChild(el("span", "x", e.x)); }
      results.appendChild(a);
    });
  }

  if (search) { search.addEventListener("input", render); }
  selects.forEach(function (s) { s.addEventListener("change", render); });
  if (search || selects.length) {
    var q = new URLSearchParams(window.location.search).get("q");
    if (q && search) { search.value = q; }
    render();
  }

  Array.prototype.slice.call(document.querySelectorAll("button.copy")).forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.dataset.copy);
      var text = target ? target.textContent : "";
      function done() { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(target); });
      } else { select(target); }
    });
  });

  function select(node) {
    if (!node) { return; }
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
}());
