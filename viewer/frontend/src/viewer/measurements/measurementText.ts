/** A measurement's values as one line of text, in the units the tool computed (mm, HU, mm²). */

import type { Types as ToolTypes } from "@cornerstonejs/tools";

import { t } from "../i18n";

type Stats = Record<string, unknown>;

const first = (value: unknown): number | undefined => {
  const number = Array.isArray(value) ? value[0] : value;
  return typeof number === "number" && Number.isFinite(number) ? number : undefined;
};

const format = (value: unknown, digits = 1): string => {
  const number = first(value);
  return number === undefined ? "—" : number.toFixed(digits);
};

export const TOOL_LABELS: Record<string, string> = {
  Length: "Length",
  Angle: "Angle",
  RectangleROI: "Rectangle",
  EllipticalROI: "Ellipse",
  Probe: "Probe",
};

export function measurementStats(annotation: ToolTypes.Annotation): Stats | undefined {
  const cached = (annotation.data as { cachedStats?: Record<string, Stats> }).cachedStats;
  return cached ? Object.values(cached)[0] : undefined;
}

export function measurementText(annotation: ToolTypes.Annotation): string {
  const stats = measurementStats(annotation);
  if (!stats) {
    return "";
  }
  switch (annotation.metadata?.toolName) {
    case "Length":
      return `${format(stats.length, 1)} ${String(stats.unit ?? "mm")}`;
    case "Angle":
      return `${format(stats.angle, 1)}°`;
    case "Probe":
      return `${format(stats.value, 0)} ${String(stats.modalityUnit ?? "")}`.trim();
    case "RectangleROI":
    case "EllipticalROI": {
      const unit = String(stats.modalityUnit ?? "");
      return [
        `${t("Mean")} ${format(stats.mean, 1)} ${unit}`.trim(),
        `${t("SD")} ${format(stats.stdDev, 1)}`,
        `${t("Area")} ${format(stats.area, 1)} ${String(stats.areaUnit ?? "")}`.trim(),
      ].join(", ");
    }
    default:
      return "";
  }
}
