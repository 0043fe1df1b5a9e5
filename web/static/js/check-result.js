/* The print button, shown only when script runs. */
(function () {
  var button = document.querySelector('[data-print]');
  if (button) { button.hidden = false; button.addEventListener('click', function () { window.print(); }); }
}());
