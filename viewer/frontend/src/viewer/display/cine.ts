/**
 * Cine: plays a multi-frame instance (DSA, ultrasound clip) or a stack at a frame rate, looping.
 * The rate starts from what the image itself recommends (see cineRate) and can be changed while playing.
 */

import { utilities as toolUtilities } from "@cornerstonejs/tools";

import { fpsClamp } from "./cineRate";

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
