/**
 * The cine frame rate: what the image itself recommends (PS3.3 C.7.6.5 Cine Module), within the range
 * the viewer plays.
 */

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
