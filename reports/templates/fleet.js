(function () {
  "use strict";
  // Reads only data-* attributes and textContent, writes only classes, attributes and textContent: report text
  // (cluster names, item ids) is never parsed as markup.
  var doc = document;
  var body = doc.querySelector("#clusters tbody");
  var rows = Array.prototype.slice.call(body.rows);
  var texts = rows.map(function (tr) { return (tr.dataset.cluster + " " + tr.cells[3].textContent).toLowerCase(); });
  var search = doc.getElementById("filter-text");
  var verdict = doc.getElementById("filter-verdict");
  var shown = doc.getElementById("shown");
  var none = doc.getElementById("none");
  var heads = Array.prototype.slice.call(doc.querySelectorAll("#clusters th[data-key]"));

  function apply() {
    var terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var want = verdict.value;
    var count = 0;
    rows.forEach(function (tr, i) {
      var d = tr.dataset;
      var ok = (want === "" || (want === "stale" ? d.stale === "true" : d.verdict === want)) &&
        terms.every(function (t) { return texts[i].indexOf(t) !== -1; });
      tr.classList.toggle("hidden", !ok);
      if (ok) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " clusters shown";
    none.hidden = count !== 0;
  }

  function sortBy(th) {
    var key = th.dataset.key;
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var order = rows.map(function (tr, i) { return i; });
    order.sort(function (a, b) {
      var x = rows[a].dataset[key], y = rows[b].dataset[key];
      var c = key === "cluster" ? (x < y ? -1 : x > y ? 1 : 0) : (parseFloat(x) || 0) - (parseFloat(y) || 0);
      return (ascending ? c : -c) || a - b;
    });
    var frag = doc.createDocumentFragment();
    order.forEach(function (i) { frag.appendChild(rows[i]); });
    body.appendChild(frag);
    rows = order.map(function (i) { return rows[i]; });
    texts = order.map(function (i) { return texts[i]; });
  }

  heads.forEach(function (th) { th.addEventListener("click", function () { sortBy(th); }); });
  search.addEventListener("input", apply);
  verdict.addEventListener("change", apply);
  apply();
}());
