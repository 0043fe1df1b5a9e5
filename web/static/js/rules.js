/* A problem's line link also puts the cursor on that line of the text area. */
(function () {
  var area = document.getElementById("text");
  Array.prototype.forEach.call(document.querySelectorAll("a[data-line]"), function (link) {
    link.addEventListener("click", function (event) {
      var n = parseInt(link.getAttribute("data-line"), 10), lines = area.value.split("\n"), start = 0;
      for (var i = 0; i < n - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
      event.preventDefault();
      area.focus();
      area.setSelectionRange(start, start + (lines[n - 1] || "").length);
      area.scrollTop = Math.max(0, (n - 3) * 18);
    });
  });
})();
