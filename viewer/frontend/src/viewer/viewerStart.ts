/** The viewer page's application: read the runtime configuration, start Cornerstone3D, open the studies. */

import { ViewerApp } from "./app";
import { readConfig } from "./config";
import { cornerstoneStart } from "./cornerstone/start";
import { setTranslations } from "./i18n";
import { loadFailureShow } from "./ui/loadFailure";

const config = readConfig();
setTranslations(config.i18n);
const shell = document.getElementById("viewer-app");
if (!shell) {
  throw new Error("The page has no #viewer-app element");
}
// Cornerstone rejects an image request that failed (a 401 after the session ended, a request cut off
// by leaving the page) with the XMLHttpRequest itself, on promises of its own that nobody awaits. The
// viewport shows what it could not load; the console gets a warning, not an uncaught error.
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason instanceof XMLHttpRequest) {
    event.preventDefault();
    console.warn(`Image request failed: HTTP ${event.reason.status} ${event.reason.responseURL}`);
  }
});

/** Start Cornerstone3D and open the studies of the link. */
function start(root: HTMLElement): void {
  cornerstoneStart({ cacheSizeMb: config.cacheSizeMb });
  const dicomwebRoot = new URL(config.dicomwebRoot, window.location.href).href.replace(/\/$/, "");
  const app = new ViewerApp(root, config, dicomwebRoot);
  app.open().catch((error: unknown) => loadFailureShow(root, error));
}

// Never inside the load event (see main.ts): this module normally runs after it; should it run before,
// the viewer waits for the event to be over, in a task of its own, since a handler's work holds it back.
if (document.readyState === "complete") {
  start(shell);
} else {
  window.addEventListener("load", () => window.setTimeout(() => start(shell)), { once: true });
}
