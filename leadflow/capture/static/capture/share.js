/* Copy buttons on the "Put it on a website" page. */
document.addEventListener("click", function (event) {
  "use strict";
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.dataset.copy);
  source.select();
  var done = function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 1600);
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(source.value).then(done);
  else if (document.execCommand("copy")) done();
});
