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

  // A count the list left for later: fetch it and put it in place of "still counting".
  var pending = document.querySelector("[data-count-url]");
  if (pending) {
    fetch(pending.dataset.countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) {
        if (!c) { return; }
        pending.querySelector("[data-count-text]").textContent = c.text;
        var link = pending.querySelector("[data-count-link]");
        if (link) { link.remove(); }
        document.querySelectorAll("[data-matching-text]").forEach(function (el) { el.textContent = c.matching_text + " "; });
      })
      .catch(function () {});
  }

  // "Select all on this page" ticks every row checkbox of the bulk form.
  document.querySelectorAll("[data-select-page]").forEach(function (box) {
    box.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (row) { row.checked = box.checked; });
    });
  });
})();
