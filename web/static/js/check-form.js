/* Add and remove members, debts and other rows; the form works without script (one empty row each). */
(function () {
  'use strict';
  function renumber(list) {
    list.querySelectorAll(':scope > [data-row] [data-n]').forEach(function (span, i) { span.textContent = String(i + 1); });
  }
  function wire(row) {
    var button = row.querySelector('[data-remove]');
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener('click', function () {
      var list = row.parentNode;
      var add = document.querySelector('[data-add="' + list.id.replace(/-rows$/, '') + '"]');
      row.remove();
      renumber(list);
      if (add) { add.focus(); }
    });
  }
  document.querySelectorAll('[data-row]').forEach(wire);
  document.querySelectorAll('[data-add]').forEach(function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      var name = button.getAttribute('data-add');
      var list = document.getElementById(name + '-rows');
      var next = Number(list.getAttribute('data-next'));
      list.setAttribute('data-next', String(next + 1));
      var html = document.getElementById(name + '-template').innerHTML
        .replace(/__i__/g, String(next)).replace(/__n__/g, String(next + 1));
      list.insertAdjacentHTML('beforeend', html);
      var row = list.lastElementChild;
      wire(row);
      renumber(list);
      var first = row.querySelector('input, select');
      if (first) { first.focus(); }
    });
  });
  var summary = document.getElementById('error-summary');
  if (summary) { summary.focus(); }
}());
