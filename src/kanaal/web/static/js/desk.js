// Agent desk live updates: listen to /desk/events (server-sent events) and refresh the
// server-rendered parts of the page marked with data-partial. No dependencies, no inline code.
(function () {
  "use strict";

  var status = document.getElementById("live-status");
  var parts = Array.prototype.slice.call(document.querySelectorAll("[data-partial]"));
  if (!parts.length || typeof window.EventSource !== "function") {
    return;
  }

  function setStatus(state, text) {
    if (status) {
      status.setAttribute("data-state", state);
      status.textContent = text;
    }
  }

  // Remember what had keyboard focus inside a part so a refresh does not lose it.
  function focusKey(element) {
    if (!element || element === document.body) { return null; }
    if (element.id) { return "#" + element.id; }
    if (element.name) { return "[name='" + element.name + "'][value='" + (element.value || "") + "']"; }
    return null;
  }

  var pending = false;
  var again = false;

  function refreshPart(part) {
    var url = part.getAttribute("data-partial");
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.assign("/desk/login");
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null || html === part.innerHTML) { return; }
        var key = part.contains(document.activeElement) ? focusKey(document.activeElement) : null;
        part.innerHTML = html;
        if (key) {
          var target = part.querySelector(key);
          if (target) { target.focus(); }
        }
      });
  }

  // Many desks hear the same event: wait a moment (with jitter) so a burst of changes costs
  // one refresh per desk and the desks do not all ask the server at the same instant.
  var scheduled = null;

  function soon() {
    if (scheduled !== null) { return; }
    scheduled = window.setTimeout(function () {
      scheduled = null;
      refresh();
    }, 150 + Math.floor(Math.random() * 350));
  }

  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    Promise.all(parts.map(refreshPart)).catch(function () {
      setStatus("offline", "Live updates interrupted; retrying…");
    }).then(function () {
      pending = false;
      if (again) { again = false; refresh(); }
    });
  }

  var source = null;

  function connect() {
    source = new EventSource("/desk/events");
    source.addEventListener("open", function () {
      setStatus("live", "Live");
      refresh();  // catch up on anything missed while (re)connecting
    });
    source.addEventListener("contact_center", soon);
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. the session ended): the refresh sends a signed-out agent to sign in;
        // otherwise try again in a while.
        setStatus("offline", "Live updates stopped; retrying…");
        refresh();
        window.setTimeout(connect, 5000);
      } else {
        setStatus("connecting", "Reconnecting to live updates…");
      }
    });
  }

  connect();
  window.addEventListener("pagehide", function () { if (source) { source.close(); } });
})();
