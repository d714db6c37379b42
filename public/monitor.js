// Refreshes the fieldwork counts of a wave page every 15 seconds. Progressive enhancement:
// the page shows the same numbers without it. Reads <table data-progress-url> and fills the
// cells marked data-segment + data-field; no HTML is built from data (textContent only).
(function () {
  var table = document.querySelector("table[data-progress-url]");
  if (!table || !window.fetch) return;
  var url = table.getAttribute("data-progress-url");
  var lang = document.documentElement.lang === "ru" ? "ru-RU" : "en-GB";
  var percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  var integer = new Intl.NumberFormat(lang);
  function set(segment, field, text) {
    var cell = table.querySelector('[data-segment="' + segment + '"][data-field="' + field + '"]');
    if (cell && cell.textContent !== text) cell.textContent = text;
  }
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.segments.forEach(function (s) {
          set(s.segment, "completed", integer.format(s.completed));
          set(s.segment, "partial", integer.format(s.partial));
          set(s.segment, "excluded", integer.format(s.excluded));
          set(s.segment, "progress", s.progress === null ? "—" : percent.format(s.progress));
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 15000);
})();
