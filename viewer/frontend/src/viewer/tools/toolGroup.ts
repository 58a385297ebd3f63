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
  RectangleROITool,
  ReferenceLinesTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  type Types as ToolTypes,
} from "@cornerstonejs/tools";

import { LocateTool } from "./locateTool";
import { StackProbeTool } from "./stackProbeTool";
import { type PrimaryTool, PrimaryTools } from "./toolNames";

const { MouseBindings } = ToolEnums;
type ToolBinding = { mouseButton: number } | { numTouchPoints: number };
export const TOOL_GROUP_ID = "pacs-stack";

/**
 * The group with its tools and their bindings, before any viewport joins it: each change of a tool's
 * mode renders every viewport of the group, which while the first series streams in would cost a render
 * of the WebGL viewport and a frame of the page for nothing.
 */
export function toolGroupCreate(mode: TouchMode): ToolTypes.IToolGroup {
  for (const tool of [
    WindowLevelTool,
    PanTool,
    ZoomTool,
    StackScrollTool,
    LengthTool,
    AngleTool,
    RectangleROITool,
    EllipticalROITool,
    StackProbeTool,
    LocateTool,
    ReferenceLinesTool,
  ]) {
    addTool(tool);
  }
  const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
  if (!group) {
    throw new Error("Could not create the tool group");
  }
  // For one finger, Cornerstone takes the first tool (in the order modes were first set) bound to that
  // touch or to the primary button: primaryToolSet sets stack scroll first, so its touch binding wins.
  group.addTool(StackScrollTool.toolName);
  for (const name of Object.values(PrimaryTools)) {
    group.addTool(name);
  }
  group.addTool(ReferenceLinesTool.toolName);
  touchMode = mode;
  primaryToolSet(group, "windowLevel");
  return group;
}

export type TouchMode = "scroll" | "windowLevel";
let touchMode: TouchMode = "scroll";

/** One finger scrolls or windows (the user's choice); two fingers pinch to zoom and move to pan. */
export function touchModeSet(group: ToolTypes.IToolGroup, mode: TouchMode): void {
  touchMode = mode;
  const current = group.getActivePrimaryMouseButtonTool();
  const tool = Object.entries(PrimaryTools).find(([, name]) => name === current)?.[0] ?? "windowLevel";
  primaryToolSet(group, tool as PrimaryTool);
}

/** Reference lines: the plane of the active viewport's slice drawn across the others. */
export function referenceLinesSet(group: ToolTypes.IToolGroup, sourceViewportId: string | null): void {
  if (sourceViewportId === null) {
    group.setToolDisabled(ReferenceLinesTool.toolName);
    return;
  }
  group.setToolConfiguration(ReferenceLinesTool.toolName, { sourceViewportId });
  group.setToolEnabled(ReferenceLinesTool.toolName);
}

/**
 * Put `tool` on the left button; zoom stays on the right button (and two fingers), pan on the middle
 * one, stack scroll on the wheel, and one finger follows the drawing tool or else the touch mode.
 *
 * Cornerstone merges the bindings of each setToolActive call with the earlier ones, so every tool is
 * first cleared and then given exactly the bindings it should have now.
 */
export function primaryToolSet(group: ToolTypes.IToolGroup, tool: PrimaryTool): void {
  const name = PrimaryTools[tool];
  const navigation: string[] = [PrimaryTools.windowLevel, PrimaryTools.pan, PrimaryTools.zoom];
  const oneFinger = navigation.includes(name)
    ? touchMode === "scroll"
      ? StackScrollTool.toolName
      : PrimaryTools.windowLevel
    : name;
  const wanted = new Map<string, ToolBinding[]>();
  const bind = (toolName: string, binding: ToolBinding) => wanted.set(toolName, [...(wanted.get(toolName) ?? []), binding]);
  bind(StackScrollTool.toolName, { mouseButton: MouseBindings.Wheel });
  bind(name, { mouseButton: MouseBindings.Primary });
  bind(PrimaryTools.zoom, { mouseButton: MouseBindings.Secondary });
  bind(PrimaryTools.zoom, { numTouchPoints: 2 });
  bind(PrimaryTools.pan, { mouseButton: MouseBindings.Auxiliary });
  bind(oneFinger, { numTouchPoints: 1 });
  for (const toolName of [StackScrollTool.toolName, ...Object.values(PrimaryTools)]) {
    group.setToolPassive(toolName, { removeAllBindings: true });
    const bindings = wanted.get(toolName);
    if (bindings) {
      group.setToolActive(toolName, { bindings });
    }
  }
}
