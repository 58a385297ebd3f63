// Injected before any script of the page (Playwright init script). Every time is performance.now(), in
// milliseconds from the navigation start of the document, so the page's own clock measures the page.
// The config object is prepended by bench/viewer/browser.py as `const BENCH = {...};`.
(() => {
  if (window.top !== window) {
    return;
  }
  const state = {
    firstImage: null, // when a viewport canvas first showed an image
    frames: {}, // WADO-RS frame URL -> responseEnd
    frameCount: 0,
    frameFailures: 0,
    framesCompressed: 0, // frames that came with a content encoding (gzip), which would measure zlib
    framesDone: null, // when the last of the expected frames had arrived (or the series' Pixel Data)
    seriesPixelData: null, // when the series' Pixel Data response, if the viewer asked for one, had arrived
    progress: null, // the viewer's own progress: {loaded, total}
    progressDone: null, // when the viewer's own progress reached the total
    lastChange: 0, // when anything above last changed, to tell a stalled load
    fatal: null, // why the page cannot show the study (its script missing, its own error state)
    // Where the time to the first image went: the page's scripts run, the first metadata response, the
    // first frame response.
    domContentLoaded: null,
    metadata: null,
    firstFrame: null,
  };
  window.__bench = state;
  const frameUrl = new RegExp(BENCH.frameUrlPattern);
  // A series' Pixel Data resource (PS3.18 10.4.1.1.6) carries every frame of the series in one response.
  const seriesPixelDataUrl = new RegExp(BENCH.seriesPixelDataUrlPattern);

  // Resource timing keeps only 250 entries by default; a 2,000-slice series needs them all.
  performance.setResourceTimingBufferSize(1_000_000);
  const framesSeen = (entries) => {
    for (const entry of entries) {
      // Only same-origin entries carry a status: the page's own scripts and styles.
      const pageAsset = entry.initiatorType === "script" || entry.initiatorType === "link";
      if (pageAsset && entry.responseStatus >= 400 && state.fatal === null) {
        state.fatal = `${entry.name} answered ${entry.responseStatus}`;
      }
      if (state.metadata === null && /\/metadata(\?|$)/.test(entry.name)) {
        state.metadata = entry.responseEnd;
      }
      if (seriesPixelDataUrl.test(entry.name) && (!entry.responseStatus || entry.responseStatus < 400)) {
        state.seriesPixelData = entry.responseEnd;
        state.framesDone = state.framesDone ?? entry.responseEnd;
        state.lastChange = performance.now();
        continue;
      }
      if (!frameUrl.test(entry.name) || entry.name in state.frames) {
        continue;
      }
      if (entry.responseStatus && entry.responseStatus >= 400) {
        state.frameFailures += 1;
        continue;
      }
      state.frames[entry.name] = entry.responseEnd;
      state.firstFrame = Math.min(state.firstFrame ?? Infinity, entry.responseEnd);
      state.frameCount += 1;
      if (entry.encodedBodySize > 0 && entry.encodedBodySize < entry.decodedBodySize) {
        state.framesCompressed += 1;
      }
      state.lastChange = performance.now();
    }
    if (state.framesDone === null && state.frameCount >= BENCH.expectedFrames) {
      state.framesDone = Math.max(...Object.values(state.frames));
    }
  };
  new PerformanceObserver((list) => framesSeen(list.getEntries())).observe({ type: "resource", buffered: true });
  document.addEventListener("DOMContentLoaded", () => {
    state.domContentLoaded = performance.now();
  });

  // The first image: a viewport canvas with enough bright pixels, sampled once per animation frame on a
  // small copy (the viewers draw their WebGL output into a 2D canvas, which can be read back).
  const probe = document.createElement("canvas");
  probe.width = probe.height = 64;
  const probeContext = probe.getContext("2d", { willReadFrequently: true });
  const drawn = (canvas) => {
    if (!canvas.width || !canvas.height) {
      return false;
    }
    probeContext.clearRect(0, 0, 64, 64);
    probeContext.drawImage(canvas, 0, 0, 64, 64);
    const data = probeContext.getImageData(0, 0, 64, 64).data;
    let lit = 0;
    for (let index = 0; index < data.length; index += 4) {
      if (data[index] + data[index + 1] + data[index + 2] > 3 * BENCH.litLevel) {
        lit += 1;
      }
    }
    return lit >= BENCH.litFraction * 64 * 64;
  };
  const poll = () => {
    if (state.firstImage !== null) {
      return;
    }
    for (const canvas of document.querySelectorAll(BENCH.canvasSelector)) {
      if (drawn(canvas)) {
        state.firstImage = performance.now();
        state.lastChange = state.firstImage;
        return;
      }
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);

  // A viewer that shows its own error state will not show the study.
  if (BENCH.errorSelector) {
    new MutationObserver(() => {
      if (state.fatal === null && document.querySelector(BENCH.errorSelector)) {
        state.fatal = `the page shows ${BENCH.errorSelector}: ${document.body.innerText.slice(0, 200)}`;
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
  }

  // The viewer's own progress indicator, when it has one: an element whose title holds "loaded of total".
  if (BENCH.progressSelector) {
    const progressRead = () => {
      const element = document.querySelector(BENCH.progressSelector);
      const numbers = (element?.getAttribute("title") ?? "").match(/\d+/g);
      if (!numbers || numbers.length < 2) {
        return;
      }
      const [loaded, total] = numbers.map(Number);
      if (!state.progress || state.progress.loaded !== loaded) {
        state.progress = { loaded, total };
        state.lastChange = performance.now();
      }
      if (state.progressDone === null && element.classList.contains(BENCH.progressCompleteClass)) {
        state.progressDone = performance.now();
      }
    };
    new MutationObserver(progressRead).observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["class", "title"],
    });
  }
})();
