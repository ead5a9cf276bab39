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

  // A table of 10,000 rows takes seconds to lay out on every sort: the first LIMIT matches are shown, the rest on
  // request (the rows are all in the page; without script every row shows).
  var LIMIT = 500;
  var all = false;
  var more = doc.getElementById("show-all");

  function apply() {
    var terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var want = verdict.value;
    var count = 0;
    rows.forEach(function (tr, i) {
      var d = tr.dataset;
      var ok = (want === "" || (want === "stale" ? d.stale === "true" : d.verdict === want)) &&
        terms.every(function (t) { return texts[i].indexOf(t) !== -1; });
      if (ok) { count += 1; }
      tr.classList.toggle("hidden", !ok || (!all && count > LIMIT));
      tr.classList.remove("later");
    });
    var cut = !all && count > LIMIT;
    shown.textContent = count + " of " + rows.length + " clusters " + (cut ? "match, the first " + LIMIT + " shown" : "shown");
    more.hidden = !cut;
    none.hidden = count !== 0;
  }

  function sortBy(th) {
    var key = th.dataset.key;
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var text = key === "cluster";
    // Read each row's value once: the comparator runs n log n times, and DOM reads are what is slow at 10,000 rows.
    var values = rows.map(function (tr) { var v = tr.dataset[key]; return text ? v : (parseFloat(v) || 0); });
    var order = rows.map(function (tr, i) { return i; });
    order.sort(function (a, b) {
      var x = values[a], y = values[b];
      var c = text ? (x < y ? -1 : x > y ? 1 : 0) : x - y;
      return (ascending ? c : -c) || a - b;
    });
    var table = body.parentNode;
    table.removeChild(body);  // one layout for the new order, not one per moved row
    order.forEach(function (i) { body.appendChild(rows[i]); });
    rows = order.map(function (i) { return rows[i]; });
    texts = order.map(function (i) { return texts[i]; });
    apply();  // the first LIMIT in the new order
    table.appendChild(body);
  }

  heads.forEach(function (th) { th.addEventListener("click", function () { sortBy(th); }); });
  search.addEventListener("input", apply);
  verdict.addEventListener("change", apply);
  more.addEventListener("click", function () { all = true; apply(); });
  apply();
}());
