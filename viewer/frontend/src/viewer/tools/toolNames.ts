/** The tools a user can put on the primary mouse button, in toolbar order. */

import {
  AngleTool,
  EllipticalROITool,
  LengthTool,
  PanTool,
  ProbeTool,
  RectangleROITool,
  WindowLevelTool,
  ZoomTool,
} from "@cornerstonejs/tools";

import { LocateTool } from "./locateTool";

export const PrimaryTools = {
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
  rectangle: RectangleROITool.toolName,
  ellipse: EllipticalROITool.toolName,
  probe: ProbeTool.toolName,
  locate: LocateTool.toolName,
} as const;

export type PrimaryTool = keyof typeof PrimaryTools;

export const MeasurementToolNames: readonly string[] = [
  LengthTool.toolName,
  AngleTool.toolName,
  RectangleROITool.toolName,
  EllipticalROITool.toolName,
  ProbeTool.toolName,
];
