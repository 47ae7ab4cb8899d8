// tokengate web UI: the one script. It adds conveniences only; every page
// works without it.
"use strict";

// Copy buttons: <button data-copy="ELEMENT-ID"> copies that element's value
// (an input) or text to the clipboard and says so in its status region.
function copyFrom(button) {
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  const text = "value" in target ? target.value : target.textContent.trim();
  const status = document.getElementById(button.dataset.copy + "-status");
  const say = (msg) => { if (status) status.textContent = msg; };
  if (!navigator.clipboard || !window.isSecureContext) {
    if (typeof target.select === "function") target.select();
    say("Select the text and copy it with Ctrl+C.");
    return;
  }
  navigator.clipboard.writeText(text).then(
    () => { button.dataset.copied = "true"; say("Copied to the clipboard."); },
    () => { if (typeof target.select === "function") target.select(); say("Copying was refused: select the text and press Ctrl+C."); },
  );
}

document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-copy]");
  if (button) {
    ev.preventDefault();
    copyFrom(button);
  }
});

document.addEventListener("DOMContentLoaded", () => {
  // The form_post response page: post the answer to the application.
  const autosubmit = document.querySelector("form[data-autosubmit]");
  if (autosubmit) autosubmit.submit();
  document.querySelectorAll("button[data-copy]").forEach((b) => { b.hidden = false; });
  // A page that revealed a token was the answer to a POST: make this
  // history entry the profile page, so that reloading or going back asks
  // the server again (which never shows the token twice) instead of
  // re-posting the form.
  const reveal = document.querySelector("[data-replace-url]");
  if (reveal && window.history && history.replaceState) {
    history.replaceState(null, "", reveal.dataset.replaceUrl);
  }
});
