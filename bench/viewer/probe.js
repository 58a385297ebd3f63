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

  // The first image: a viewport canvas with enough bright pixels, checked on a 64×64 copy. Reading a
  // canvas back costs the page 50 to 330 ms with software WebGL (it waits for the GPU process to finish
  // everything queued), so the probe stays off the viewer's way: right after a viewer draws into a
  // viewport canvas (Cornerstone3D viewers copy each render into it with drawImage) it only takes a
  // small copy, which the GPU makes, and reads the copies back once the run is over (Python calls
  // __benchCopiesRead); the first bright copy gives the time of its draw. Reading every canvas each
  // animation frame cost the page 130 to 290 ms before its first image; reading the copies when the page
  // was first idle blocked its thread for up to 330 ms in the middle of loading the series. A slow poll
  // stays as the fallback for a viewer that draws otherwise.
  const lit = (copy) => {
    const data = copy.getContext("2d").getImageData(0, 0, 64, 64).data;
    let count = 0;
    for (let index = 0; index < data.length; index += 4) {
      if (data[index] + data[index + 1] + data[index + 2] > 3 * BENCH.litLevel) {
        count += 1;
      }
    }
    return count >= BENCH.litFraction * 64 * 64;
  };
  const copies = []; // [time, 64×64 copy of a viewport canvas], in the order drawn
  const COPIES_KEPT = 400; // a viewer redrawing without ever showing an image is not kept track of forever
  state.copiesTaken = 0;
  const copyTake = (canvas, time) => {
    if (state.firstImage !== null || copies.length >= COPIES_KEPT || !canvas.width || !canvas.height) {
      return;
    }
    const copy = document.createElement("canvas");
    copy.width = copy.height = 64;
    copy.getContext("2d").drawImage(canvas, 0, 0, 64, 64);
    copies.push([time, copy]);
    state.copiesTaken += 1;
    state.lastChange = performance.now();
  };
  window.__benchCopiesRead = () => {
    for (const [time, copy] of copies.splice(0)) {
      if (state.firstImage === null && lit(copy)) {
        state.firstImage = time;
      }
    }
  };
  let drawSeen = false; // the viewer draws with drawImage or putImageData: the poll is not needed
  for (const name of ["drawImage", "putImageData"]) {
    const original = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      const result = original.apply(this, args);
      const canvas = this.canvas;
      if (state.firstImage === null && canvas instanceof HTMLCanvasElement && canvas.matches(BENCH.canvasSelector)) {
        drawSeen = true;
        copyTake(canvas, performance.now());
      }
      return result;
    };
  }
  const poll = () => {
    if (state.firstImage !== null || drawSeen) {
      return;
    }
    for (const canvas of document.querySelectorAll(BENCH.canvasSelector)) {
      copyTake(canvas, performance.now());
    }
    setTimeout(poll, BENCH.fallbackPollMs);
  };
  setTimeout(poll, BENCH.fallbackPollMs);

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
