/* The progress of a running batch, polled once a second; the page reloads when the job ends. */
(function () {
  var text = document.getElementById('progress-text'), bar = document.getElementById('progress');
  var url = text.getAttribute('data-status-url'), announced = -1;
  function poll() {
    fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.percent;
        bar.textContent = s.percent + '%';
        if (Math.floor(s.percent / 10) !== announced || s.state !== 'running') {  // not every second: it is read aloud
          announced = Math.floor(s.percent / 10);
          text.textContent = s.text;
        }
        if (s.state === 'running') { window.setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
}());
