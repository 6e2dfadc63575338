// The report's only script: the failures-only filter and expand/collapse.
// It loads nothing and works offline.
(function () {
  "use strict";
  var body = document.body;
  var only = document.getElementById("failures-only");
  if (only) {
    only.addEventListener("click", function () {
      var on = !body.classList.contains("failures-only");
      body.classList.toggle("failures-only", on);
      only.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  function setAll(open) {
    var all = document.querySelectorAll("details.scenario");
    for (var i = 0; i < all.length; i++) {
      all[i].open = open;
    }
  }
  var ex = document.getElementById("expand-all");
  if (ex) { ex.addEventListener("click", function () { setAll(true); }); }
  var co = document.getElementById("collapse-all");
  if (co) { co.addEventListener("click", function () { setAll(false); }); }
  // A link to a scenario opens it.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") {
      el.open = true;
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
