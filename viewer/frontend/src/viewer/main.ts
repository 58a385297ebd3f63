/**
 * Entry of the viewer page: its style sheet, and the application (viewerStart.ts) imported dynamically.
 *
 * Why not imported like any module: the browser counts the page as loading until its scripts have run,
 * and while it loads, it animates the tab's loading indicator. Without a GPU (software compositing: a
 * thin client, a virtual desktop, headless Chromium) each frame of that animation composites the whole
 * window on the cores that load the study. A dynamic import does not hold the load event back, so it
 * ends as soon as this small script has run, while megabytes of Cornerstone3D are still compiling.
 *
 * Measured in headless Chromium on the 2-core CI machine (one trace each): with the application as a
 * static import, run inside the script, the load event ended at 0.93 s and the browser drew frames of
 * its own until 1.27 s; run after the load event, 0.39 s and 0.68 s; imported dynamically, 0.17 s and
 * 0.45 s. Alternated runs of the 2,000-slice CT (8 each), first image / whole series: 0.85 / 2.93 s,
 * then 0.80 / 2.76 s; in a second pair, 0.82 / 2.80 s, then 0.74 / 2.74 s.
 */

import "./viewer.css";

import { readConfig } from "./config";
import { setTranslations } from "./i18n";
import { loadFailureShow } from "./ui/loadFailure";

import("./viewerStart").catch((error: unknown) => {
  // The application's script did not load (a failed request, a build left half deployed).
  setTranslations(readConfig().i18n);
  const shell = document.getElementById("viewer-app");
  if (shell) {
    loadFailureShow(shell, error);
  }
});
