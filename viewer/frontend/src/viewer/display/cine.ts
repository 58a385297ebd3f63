/**
 * Cine: plays a multi-frame instance (DSA, ultrasound clip) or a stack at a frame rate, looping.
 * The rate starts from what the image itself recommends (PS3.3 C.7.6.5 Cine Module) and can be changed
 * while playing.
 */

import { utilities as toolUtilities } from "@cornerstonejs/tools";

import { type DicomJson, numberValue } from "../dicomweb/tags";

export const FPS_MIN = 1;
export const FPS_MAX = 60;
const FPS_DEFAULT = 10;

const CineRate = "00180040";
const RecommendedDisplayFrameRate = "00082144";
const FrameTime = "00181063";

/** The frame rate an instance asks for, or a reading-room default. */
export function recommendedFps(instance: DicomJson | undefined): number {
  if (!instance) {
    return FPS_DEFAULT;
  }
  const frameTime = numberValue(instance, FrameTime);
  const fps =
    numberValue(instance, CineRate) ??
    numberValue(instance, RecommendedDisplayFrameRate) ??
    (frameTime && frameTime > 0 ? 1000 / frameTime : undefined);
  return fpsClamp(fps ?? FPS_DEFAULT);
}

export function fpsClamp(fps: number): number {
  return Math.round(Math.min(FPS_MAX, Math.max(FPS_MIN, fps)));
}

/** Which viewport elements play, at which rate. */
export class CinePlayer extends EventTarget {
  private readonly playing = new Map<HTMLDivElement, number>();

  isPlaying(element: HTMLDivElement | undefined): boolean {
    return element !== undefined && this.playing.has(element);
  }

  play(element: HTMLDivElement, fps: number): void {
    const rate = fpsClamp(fps);
    // playClip on an element already playing only changes the rate.
    toolUtilities.cine.playClip(element, { framesPerSecond: rate, loop: true });
    this.playing.set(element, rate);
    this.changed(element);
  }

  stop(element: HTMLDivElement): void {
    if (this.playing.delete(element)) {
      toolUtilities.cine.stopClip(element);
    }
    this.changed(element);
  }

  /** Stop every element no longer on the page (a layout change rebuilt the grid). */
  forgetDetached(): void {
    for (const element of [...this.playing.keys()]) {
      if (!element.isConnected) {
        this.playing.delete(element);
      }
    }
  }

  private changed(element: HTMLDivElement): void {
    this.dispatchEvent(new CustomEvent("change", { detail: { element, fps: this.playing.get(element) } }));
  }
}
