(function () {
  "use strict";
  // Reads only data-* attributes and textContent, writes only classes and textContent: report text is never parsed.
  var doc = document;
  doc.documentElement.classList.replace("no-js", "js");
  var items = Array.prototype.slice.call(doc.querySelectorAll("article.item"));
  var sections = Array.prototype.slice.call(doc.querySelectorAll("section.section"));
  var texts = items.map(function (el) { return el.textContent.toLowerCase(); });
  var boxes = Array.prototype.slice.call(doc.querySelectorAll("#filters input[type=checkbox][data-filter]"));
  var sectionSelect = doc.getElementById("filter-section");
  var search = doc.getElementById("filter-text");
  var onlyBlocking = doc.getElementById("filter-blocking");
  var shown = doc.getElementById("filter-shown");
  var empty = doc.getElementById("filter-empty");

  function allowed(kind) {
    var out = {};
    boxes.forEach(function (b) { if (b.dataset.filter === kind && b.checked) { out[b.value] = true; } });
    return out;
  }

  function apply() {
    var statuses = allowed("status");
    var levels = allowed("level");
    var section = sectionSelect.value;
    var terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var blockingOnly = onlyBlocking.checked;
    var count = 0;
    items.forEach(function (el, i) {
      var d = el.dataset;
      var ok = statuses[d.status] === true && levels[d.level] === true &&
        (section === "" || d.section === section) && (!blockingOnly || d.blocking === "true") &&
        terms.every(function (t) { return texts[i].indexOf(t) !== -1; });
      el.classList.toggle("filtered-out", !ok);
      if (ok) { count += 1; }
    });
    sections.forEach(function (s) {
      s.classList.toggle("filtered-out", s.querySelector("article.item:not(.filtered-out)") === null);
    });
    shown.textContent = count + " of " + items.length + " items shown";
    empty.hidden = count !== 0;
  }

  function reset() {
    boxes.forEach(function (b) { b.checked = true; });
    sectionSelect.value = "";
    search.value = "";
    onlyBlocking.checked = false;
    apply();
  }

  function setAll(open) {
    items.forEach(function (el) { el.querySelector("details").open = open; });
  }

  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? doc.getElementById(id) : null;
    if (!el || !el.classList.contains("item")) { return; }
    if (el.classList.contains("filtered-out")) { reset(); }
    el.querySelector("details").open = true;
    el.scrollIntoView();
  }

  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  sectionSelect.addEventListener("change", apply);
  search.addEventListener("input", apply);
  onlyBlocking.addEventListener("change", apply);
  doc.getElementById("expand-all").addEventListener("click", function () { setAll(true); });
  doc.getElementById("collapse-all").addEventListener("click", function () { setAll(false); });
  doc.getElementById("reset-filters").addEventListener("click", reset);
  window.addEventListener("hashchange", reveal);

  // A printed sign-off must show everything, whatever was folded on screen.
  var folded = [];
  window.addEventListener("beforeprint", function () {
    folded = items.map(function (el) { return el.querySelector("details"); }).filter(function (d) { return !d.open; });
    folded.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    folded.forEach(function (d) { d.open = false; });
    folded = [];
  });

  apply();
  reveal();
}());
