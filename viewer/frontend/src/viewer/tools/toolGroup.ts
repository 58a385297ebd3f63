/**
 * One tool group for every viewport of the grid. Bindings follow reading-room habit: the chosen tool on
 * the left button, zoom on the right, pan on the middle button, stack scroll on the wheel.
 */

import {
  AngleTool,
  EllipticalROITool,
  Enums as ToolEnums,
  LengthTool,
  PanTool,
  ProbeTool,
  RectangleROITool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  type Types as ToolTypes,
} from "@cornerstonejs/tools";

import { type PrimaryTool, PrimaryTools } from "./toolNames";

const { MouseBindings } = ToolEnums;
export const TOOL_GROUP_ID = "pacs-stack";

export function toolGroupCreate(): ToolTypes.IToolGroup {
  for (const tool of [
    WindowLevelTool,
    PanTool,
    ZoomTool,
    StackScrollTool,
    LengthTool,
    AngleTool,
    RectangleROITool,
    EllipticalROITool,
    ProbeTool,
  ]) {
    addTool(tool);
  }
  const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
  if (!group) {
    throw new Error("Could not create the tool group");
  }
  for (const name of Object.values(PrimaryTools)) {
    group.addTool(name);
  }
  group.addTool(StackScrollTool.toolName);
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  primaryToolSet(group, "windowLevel");
  return group;
}

/** Put `tool` on the left button; pan and zoom stay on the middle and right buttons. */
export function primaryToolSet(group: ToolTypes.IToolGroup, tool: PrimaryTool): void {
  const current = group.getActivePrimaryMouseButtonTool();
  if (current) {
    group.setToolPassive(current);
  }
  const name = PrimaryTools[tool];
  const bindings: { mouseButton: number }[] = [{ mouseButton: MouseBindings.Primary }];
  if (name === PrimaryTools.zoom) {
    bindings.push({ mouseButton: MouseBindings.Secondary });
  } else if (name === PrimaryTools.pan) {
    bindings.push({ mouseButton: MouseBindings.Auxiliary });
  }
  group.setToolActive(name, { bindings });
  if (name !== PrimaryTools.zoom) {
    group.setToolActive(PrimaryTools.zoom, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  }
  if (name !== PrimaryTools.pan) {
    group.setToolActive(PrimaryTools.pan, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  }
}
