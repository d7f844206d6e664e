// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Counts read as the server writes them: 277,667, never 277667.
  var shown = function (key, value) {
    if (typeof value === "number" && key.indexOf("percent") === -1) {
      return value.toLocaleString("en-US");
    }
    return value;
  };

  var fillIn = function (root, p, suffixes) {
    Object.keys(p).forEach(function (key) {
      root.querySelectorAll('[data-field="' + key + '"]').forEach(function (el) {
        el.textContent = shown(key, p[key]) + (suffixes[key] || "");
      });
    });
  };

  var statusOf = function (url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  };

  // Live progress on a job page: poll the progress endpoint and update the numbers.
  var job = document.getElementById("job");
  if (job && job.dataset.progressUrl) {
    var bar = document.getElementById("job-progress");
    var poll = function () {
      statusOf(job.dataset.progressUrl)
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) { return; }
          if (bar) { bar.max = p.total || 1; bar.value = p.processed; bar.textContent = p.percent + " %"; }
          fillIn(job, p, { estimate: " left" });
          if (p.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    if (!["done", "cancelled", "failed"].includes((job.querySelector('[data-field="state"]') || {}).textContent)) {
      setTimeout(poll, 1000);
    }
  }

  // A preview whose set is still being frozen: its counts fill in, and once the set is
  // whole the page comes again with the sample and the button to confirm. Anything
  // else (refused, discarded) is for the page itself to say. It comes again at the
  // address that names the list "Cancel" returns to.
  var preview = document.getElementById("preview");
  if (preview && preview.dataset.statusUrl) {
    var freezeBar = document.getElementById("freeze-progress");
    var again = function () { window.location.replace(preview.dataset.refreshUrl || window.location.href); };
    var check = function () {
      statusOf(preview.dataset.statusUrl)
        .then(function (r) {
          if (!r.ok) { again(); return null; }
          return r.json();
        })
        .then(function (p) {
          if (!p) { return; }
          if (freezeBar) {
            freezeBar.max = p.expected_customers || 1;
            freezeBar.value = p.frozen_customers;
            freezeBar.textContent = p.freeze_percent + " %";
          }
          fillIn(preview, p, {});
          if (p.frozen || p.state !== "preview") { again(); } else { setTimeout(check, 500); }
        })
        .catch(function () { setTimeout(check, 2000); });
    };
    setTimeout(check, 500);
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
