// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Live progress on a job page: poll the progress endpoint and update the numbers.
  var job = document.getElementById("job");
  if (job && job.dataset.progressUrl) {
    var bar = document.getElementById("job-progress");
    var poll = function () {
      fetch(job.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return; }
          if (bar) { bar.max = p.total || 1; bar.value = p.processed; bar.textContent = p.percent + " %"; }
          Object.keys(p).forEach(function (key) {
            var el = job.querySelector('[data-field="' + key + '"]');
            if (el) { el.textContent = key === "estimate" ? p[key] + " left" : p[key]; }
          });
          if (p.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    if (!["done", "cancelled", "failed"].includes((job.querySelector('[data-field="state"]') || {}).textContent)) {
      setTimeout(poll, 1000);
    }
  }

  // The list's filters fold away on a phone only; a browser that cannot show a closed
  // fold's content on a wider screen gets it opened there.
  var fold = document.querySelector("details.filters-fold");
  if (fold && window.matchMedia) {
    var wide = window.matchMedia("(min-width: 721px)");
    var unfold = function () { if (wide.matches) { fold.open = true; } };
    unfold();
    if (wide.addEventListener) { wide.addEventListener("change", unfold); }
  }

  // "Select all on this page" ticks every row checkbox of the bulk form.
  document.querySelectorAll("[data-select-page]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (row) { row.checked = box.checked; });
    });
  });
})();
