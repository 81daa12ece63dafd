// Filters for the alerts table. Plain DOM, no network: works from file:// and GitHub Pages.
// The chosen filters live in the URL fragment (#status=new&platform=Linux), so a view can be
// bookmarked or shared. Silenced and expected alerts (rows marked data-quiet) can be hidden.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var table = document.getElementById("alerts");
  if (!form || !table) {
    return;
  }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var shown = document.getElementById("shown");
  var exact = ["status", "platform", "classification"];

  function current() {
    var wanted = {};
    exact.forEach(function (name) {
      wanted[name] = form.elements[name].value;
    });
    wanted.probe = form.elements.probe.value.trim().toLowerCase();
    wanted.hide_quiet = form.elements.hide_quiet.checked ? "1" : "";
    return wanted;
  }

  function matches(row, wanted) {
    for (var i = 0; i < exact.length; i++) {
      var name = exact[i];
      if (wanted[name] && row.getAttribute("data-" + name) !== wanted[name]) {
        return false;
      }
    }
    if (wanted.hide_quiet && row.getAttribute("data-quiet") === "1") {
      return false;
    }
    var probe = (row.getAttribute("data-probe") || "").toLowerCase();
    return !wanted.probe || probe.indexOf(wanted.probe) !== -1;
  }

  function apply() {
    var wanted = current();
    var count = 0;
    rows.forEach(function (row) {
      var visible = matches(row, wanted);
      row.hidden = !visible;
      if (visible) {
        count += 1;
      }
    });
    shown.textContent = String(count);
    var params = new URLSearchParams();
    Object.keys(wanted).forEach(function (name) {
      if (wanted[name]) {
        params.set(name, name === "hide_quiet" ? "1" : form.elements[name].value.trim());
      }
    });
    var fragment = params.toString();
    history.replaceState(null, "", fragment ? "#" + fragment : location.pathname + location.search);
  }

  function restore() {
    var params = new URLSearchParams(location.hash.slice(1));
    params.forEach(function (value, name) {
      var field = form.elements[name];
      if (!field) {
        return;
      }
      if (field.type === "checkbox") {
        field.checked = value === "1";
      } else if (field.tagName === "SELECT") {
        var known = Array.prototype.some.call(field.options, function (option) {
          return option.value === value;
        });
        if (known) {
          field.value = value;
        }
      } else {
        field.value = value;
      }
    });
  }

  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () {
    setTimeout(apply, 0);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
  });
  form.hidden = false;
  restore();
  apply();
})();
