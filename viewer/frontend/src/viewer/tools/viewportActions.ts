/** Image manipulations on one stack viewport: each action renders once. */

import type { Types } from "@cornerstonejs/core";

import { voiRangeOf } from "./windowPresets";

type Stack = Types.IStackViewport;

export function windowApply(viewport: Stack, center: number, width: number): void {
  viewport.setProperties({ voiRange: voiRangeOf(center, width) });
  viewport.render();
}

export function invertToggle(viewport: Stack): void {
  viewport.setProperties({ invert: !viewport.getProperties().invert });
  viewport.render();
}

export function rotateRight(viewport: Stack): void {
  const rotation = viewport.getViewPresentation().rotation ?? 0;
  viewport.setViewPresentation({ rotation: (rotation + 90) % 360 });
  viewport.render();
}

export function flipHorizontal(viewport: Stack): void {
  const { flipHorizontal: flipped } = viewport.getCamera();
  viewport.setCamera({ flipHorizontal: !flipped });
  viewport.render();
}

export function flipVertical(viewport: Stack): void {
  const { flipVertical: flipped } = viewport.getCamera();
  viewport.setCamera({ flipVertical: !flipped });
  viewport.render();
}

/** Fit the image to the viewport, keeping window, rotation and flips. */
export function fitToWindow(viewport: Stack): void {
  // Cornerstone's camera reset also undoes flips and rotation: they are put back after it.
  const { rotation, flipHorizontal, flipVertical } = viewport.getViewPresentation({
    rotation: true,
    flipHorizontal: true,
    flipVertical: true,
  });
  viewport.resetCamera({ resetPan: true, resetZoom: true });
  viewport.setViewPresentation({ rotation, flipHorizontal, flipVertical });
  viewport.render();
}

export function zoomBy(viewport: Stack, factor: number): void {
  viewport.setZoom(viewport.getZoom() * factor);
  viewport.render();
}

/** Back to how the image first appeared: camera, window and invert. */
export function resetAll(viewport: Stack): void {
  viewport.resetCamera();
  viewport.resetProperties();
  viewport.render();
}

export function scrollBy(viewport: Stack, delta: number): void {
  const last = viewport.getImageIds().length - 1;
  const target = Math.min(last, Math.max(0, viewport.getCurrentImageIdIndex() + delta));
  void viewport.setImageIdIndex(target);
}

export function scrollTo(viewport: Stack, index: number): void {
  const last = viewport.getImageIds().length - 1;
  void viewport.setImageIdIndex(Math.min(last, Math.max(0, index)));
}
