/* Live validation: each edit is checked by the server as saving would check it, without saving. */
(function () {
  var fields = ["effective", "value", "document"];
  Array.prototype.forEach.call(document.querySelectorAll("form.param-edit"), function (form) {
    var timer = null, touched = {}, url = form.getAttribute("data-check-url");
    var el = function (name) { return form.elements.namedItem(name); };
    var name = el("parameter").value;
    function show(result) {
      fields.forEach(function (field) {
        var out = document.getElementById(name + "-" + field + "-msg"), input = el(field);
        if (!out || !input) { return; }
        var mine = (result.problems || []).filter(function (p) { return p.field === field; });
        if (mine.length && touched[field]) {
          out.textContent = mine.map(function (p) { return p.message; }).join("\n");
          out.className = "field-msg error-text";
          input.setAttribute("aria-invalid", "true");
        } else {
          var warned = field === "value" && result.ok ? (result.warnings || []) : [];
          out.textContent = warned.map(function (w) { return "⚠ " + w.message + "\n"; }).join("")
            + (field === "value" && result.ok ? "✓ " + result.message : "");
          out.className = warned.length ? "field-msg warn-text" : field === "value" && result.ok ? "field-msg ok-text" : "field-msg";
          input.removeAttribute("aria-invalid");
        }
      });
    }
    function check() {
      var inherit = el("inherit");
      var data = {draft: el("draft").value, jurisdiction: el("jurisdiction").value, parameter: name,
                  effective: el("effective").value, value: el("value").value, inherit: !!(inherit && inherit.checked)};
      if (touched.document) { data.document = el("document").value; }
      fetch(url, {method: "POST", credentials: "same-origin",
                  headers: {"Content-Type": "application/json", "X-CSRFToken": el("csrf_token").value},
                  body: JSON.stringify(data)})
        .then(function (r) { return r.json(); }).then(show).catch(function () {});
    }
    function edited(event) {
      if (event.target.name) { touched[event.target.name] = true; }
      if (event.target.name === "inherit") { touched.value = true; }
      clearTimeout(timer);
      timer = setTimeout(check, 350);
    }
    form.addEventListener("input", edited);
    form.addEventListener("change", edited);
  });
})();
