/**
 * The text in the four corners of a viewport: patient and study (top left), series and institution
 * (top right), slice number, position and thickness (bottom left), window/level and zoom (bottom right).
 */

import { Enums, type Types, getEnabledElement } from "@cornerstonejs/core";

import type { SeriesStack } from "../display/seriesStack";
import { Tag, numberValue, stringValue } from "../dicomweb/tags";
import { t } from "../i18n";
import type { ViewportCell } from "../layout/viewportCell";
import { windowOf } from "../tools/windowPresets";

const attached = new WeakSet<ViewportCell>();

function lines(target: HTMLElement, values: string[]): void {
  target.replaceChildren(
    ...values.filter(Boolean).map((value) => {
      const line = document.createElement("div");
      line.textContent = value;
      return line;
    }),
  );
}

function dicomDate(value: string): string {
  return value.length === 8 ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6)}` : value;
}

export function overlayUpdate(cell: ViewportCell, stack: SeriesStack): void {
  const enabled = getEnabledElement(cell.element);
  if (!enabled) {
    return;
  }
  const viewport = enabled.viewport as Types.IStackViewport;
  const index = viewport.getCurrentImageIdIndex();
  const imageId = stack.imageIds[index];
  const instance = stack.instanceByImageId.get(imageId);
  if (!instance) {
    return;
  }
  lines(cell.corners.topLeft, [
    stringValue(instance, Tag.PatientName),
    `${t("ID")}: ${stringValue(instance, Tag.PatientID)}`,
    [stringValue(instance, Tag.PatientSex), dicomDate(stringValue(instance, Tag.PatientBirthDate))].join(" "),
    stringValue(instance, Tag.StudyDescription),
    dicomDate(stringValue(instance, Tag.StudyDate)),
  ]);
  lines(cell.corners.topRight, [
    stringValue(instance, Tag.InstitutionName),
    `${t("Series")} ${stack.seriesNumber ?? ""} ${stack.seriesDescription}`.trim(),
    stringValue(instance, Tag.AccessionNumber) && `${t("Acc")}: ${stringValue(instance, Tag.AccessionNumber)}`,
  ]);
  const location = numberValue(instance, Tag.SliceLocation);
  const thickness = numberValue(instance, Tag.SliceThickness);
  lines(cell.corners.bottomLeft, [
    `${t("Image")}: ${index + 1} / ${stack.imageIds.length}`,
    location !== undefined ? `${t("Position")}: ${location.toFixed(1)} mm` : "",
    thickness !== undefined ? `${t("Thickness")}: ${thickness.toFixed(1)} mm` : "",
  ]);
  const { voiRange, invert } = viewport.getProperties();
  const shown = voiRange ? windowOf(voiRange) : undefined;
  const window = shown ? `${t("W")}: ${Math.round(shown.width)} ${t("L")}: ${Math.round(shown.center)}` : "";
  lines(cell.corners.bottomRight, [
    window,
    `${t("Zoom")}: ${(viewport.getZoom() * 100).toFixed(0)}%`,
    invert ? t("Inverted") : "",
  ]);
}

export function overlayAttach(cell: ViewportCell, seriesByUID: Map<string, SeriesStack>): void {
  if (attached.has(cell)) {
    return;
  }
  attached.add(cell);
  cell.element.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
    const stack = cell.seriesInstanceUID ? seriesByUID.get(cell.seriesInstanceUID) : undefined;
    if (stack) {
      overlayUpdate(cell, stack);
    }
  });
}
