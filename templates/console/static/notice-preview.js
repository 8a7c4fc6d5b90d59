// Live preview of a notice being composed: posts the form (with its CSRF token) to the
// preview route a moment after the last keystroke and swaps in the returned fragment.
// Served from /static (CSP script-src 'self'); the page works without it (Preview button).
(function () {
  "use strict";
  var form = document.getElementById("compose");
  var target = document.getElementById("preview");
  if (!form || !target) { return; }
  var timer = null;
  var seq = 0;
  function refresh() {
    var mine = ++seq;
    fetch(form.dataset.preview, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-Fragment": "1" }
    }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      if (html === null || mine !== seq) { return; }
      var old = document.getElementById("preview-body");
      var holder = document.createElement("div");
      holder.innerHTML = html;  // server-rendered, autoescaped; the CSP runs no inline script
      if (old) { old.replaceWith(holder.firstElementChild); } else { target.appendChild(holder.firstElementChild); }
    });
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 400); }
  // The start and end labels name the zone the times are typed in.
  var zone = document.getElementById("time-zone");
  if (zone) {
    zone.addEventListener("change", function () {
      document.querySelectorAll(".tz-label").forEach(function (el) { el.textContent = zone.value; });
    });
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
