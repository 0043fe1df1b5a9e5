/* Offer only the jurisdictions of the levels the chosen role works at (checked on the server too). */
(function () {
  // offer only the jurisdictions of the levels the chosen role works at
  document.querySelectorAll('[data-role-select]').forEach(function (roleSelect) {
    var target = document.getElementById(roleSelect.getAttribute('data-role-select'));
    function apply() {
      var option = roleSelect.options[roleSelect.selectedIndex];
      var levels = option && option.getAttribute('data-levels') !== null ? option.getAttribute('data-levels').split(' ') : null;
      target.querySelectorAll('optgroup, option').forEach(function (el) {
        var level = el.getAttribute('data-level');
        var allowed = levels === null || levels.indexOf(level) !== -1;
        el.hidden = !allowed;
        el.disabled = !allowed;
      });
      var chosen = target.options[target.selectedIndex];
      if (chosen && chosen.disabled) { target.value = ''; }
    }
    roleSelect.addEventListener('change', apply);
    apply();
  });
}());
