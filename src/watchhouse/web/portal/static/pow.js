// Proof of work for the report form (see web/portal/challenge.py): find a nonce such that
// SHA-256("salt:nonce") starts with `difficulty` zero bits, then fill the hidden field. Without
// this script the form still works: the visible arithmetic question is answered instead.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !window.crypto || !window.crypto.subtle) { return; }
  var salt = form.getAttribute("data-salt");
  var difficulty = parseInt(form.getAttribute("data-difficulty"), 10);
  var nonceField = document.getElementById("pow_nonce");
  var question = document.getElementById("challenge-question");
  var state = document.getElementById("pow-state");
  var done = false;
  var waiting = false;
  function zeroBits(bytes) {
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { bits += 8; continue; }
      var b = bytes[i];
      while ((b & 0x80) === 0) { bits += 1; b <<= 1; }
      return bits;
    }
    return bits;
  }
  var encoder = new TextEncoder();
  async function work() {
    for (var nonce = 0; ; nonce++) {
      var digest = await window.crypto.subtle.digest("SHA-256", encoder.encode(salt + ":" + nonce));
      if (zeroBits(new Uint8Array(digest)) >= difficulty) { return String(nonce); }
    }
  }
  if (question) { question.classList.add("js-only"); }
  if (state) { state.textContent = "Checking your browser…"; }
  work().then(function (nonce) {
    nonceField.value = nonce;
    done = true;
    if (state) { state.textContent = "Browser check done."; }
    if (waiting) { form.submit(); }
  });
  form.addEventListener("submit", function (event) {
    if (!done) { event.preventDefault(); waiting = true; if (state) { state.textContent = "Finishing the browser check…"; } }
  });
})();
