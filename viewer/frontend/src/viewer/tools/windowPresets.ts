/**
 * Window presets: the standard CT windows, and for any image the windows it carries itself
 * (Window Center/Width, PS3.3 C.11.2, with their explanations).
 */

import { utilities } from "@cornerstonejs/core";

import { type DicomJson, Tag, numberValues } from "../dicomweb/tags";

export interface WindowPreset {
  /** English label, translated at display. */
  label: string;
  center: number;
  width: number;
  /** Key that applies the preset, shown in the menu and the help panel. */
  key?: string;
}

export const CT_PRESETS: readonly WindowPreset[] = [
  { label: "Brain", center: 40, width: 80, key: "1" },
  { label: "Lung", center: -600, width: 1500, key: "2" },
  { label: "Bone", center: 400, width: 1800, key: "3" },
  { label: "Abdomen", center: 50, width: 400, key: "4" },
  { label: "Mediastinum", center: 50, width: 350, key: "5" },
];

export function imagePresets(instance: DicomJson | undefined): WindowPreset[] {
  if (!instance) {
    return [];
  }
  const centers = numberValues(instance, Tag.WindowCenter);
  const widths = numberValues(instance, Tag.WindowWidth);
  const explanations = (instance[Tag.WindowCenterWidthExplanation]?.Value ?? []).map(String);
  return centers.slice(0, widths.length).map((center, index) => ({
    label: explanations[index] || `W ${widths[index]} L ${center}`,
    center,
    width: widths[index],
  }));
}

export function presetsFor(modality: string, instance: DicomJson | undefined): WindowPreset[] {
  const own = imagePresets(instance);
  return modality === "CT" ? [...CT_PRESETS, ...own] : own;
}

/**
 * The VOI range Cornerstone works with, from a window's centre and width, by the linear function of
 * PS3.3 C.11.2.1.2 as Cornerstone applies it to an image's own window: a preset and the same window
 * stored in an image read the same in the overlay.
 */
export function voiRangeOf(center: number, width: number): { lower: number; upper: number } {
  return utilities.windowLevel.toLowHighRange(width, center);
}

/** The window's centre and width shown for a VOI range: the inverse of `voiRangeOf`. */
export function windowOf(range: { lower: number; upper: number }): { center: number; width: number } {
  const { windowCenter, windowWidth } = utilities.windowLevel.toWindowLevel(range.lower, range.upper);
  return { center: windowCenter, width: windowWidth };
}
