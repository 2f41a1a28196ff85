// Passport's consent page, live: when the node commits a change, fetch this page
// again and swap its content in. Everything also works without this script.
"use strict";
(() => {
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  // A half-filled form is never thrown away: say that something changed instead.
  let touched = false;
  const touch = (e) => { if (e.target.closest && e.target.closest("main form")) touched = true; };
  document.addEventListener("input", touch);
  document.addEventListener("change", touch);
  document.addEventListener("submit", () => { touched = false; });

  let running = false;
  let again = false;
  async function refresh() {
    if (running) { again = true; return; }
    running = true;
    try {
      const response = await fetch(location.href, {
        credentials: "same-origin",
        cache: "no-store",
        // Leaves a one-time message for the navigation this may be racing with.
        headers: { "X-Passport-Live": "1" },
      });
      if (!response.ok || response.redirected) { location.reload(); return; }
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const nav = fresh.querySelector("nav");
      if (nav) document.querySelector("nav").replaceWith(nav);
      const main = fresh.querySelector("main");
      if (!main) return;
      if (touched) {
        const live = document.getElementById("live");
        live.textContent = "Something changed. Reload the page to see it.";
      } else {
        document.querySelector("main").replaceWith(main);
      }
    } catch (_) {
      // The node may be restarting; the next event brings the page up to date.
    } finally {
      running = false;
      if (again) { again = false; refresh(); }
    }
  }

  const live = document.getElementById("live");
  if (!live) return;
  // From the change the page was rendered at: the server says "change" at once if
  // something happened since, also after a reconnection.
  const source = new EventSource("/events?since=" + encodeURIComponent(document.body.dataset.changes || ""));
  source.addEventListener("open", () => { live.hidden = false; document.body.dataset.live = "on"; });
  source.addEventListener("error", () => { live.hidden = true; document.body.dataset.live = "off"; });
  source.addEventListener("change", refresh);
})();
