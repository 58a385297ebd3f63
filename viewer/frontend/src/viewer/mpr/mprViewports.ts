/**
 * MPR: one series reconstructed as a volume (streamed slice by slice through the same WADO-RS frames
 * as the stack) and shown axial, sagittal and coronal, with crosshairs that move all three.
 *
 * This module is loaded with import() the first time MPR opens, so the stack viewer's first image never
 * waits for the volume code.
 */

import {
  Enums,
  type RenderingEngine,
  type Types,
  cornerstoneStreamingImageVolumeLoader,
  setVolumesForViewports,
  volumeLoader,
} from "@cornerstonejs/core";
import {
  CrosshairsTool,
  Enums as ToolEnums,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
} from "@cornerstonejs/tools";

import type { SeriesStack } from "../display/seriesStack";

const { MouseBindings } = ToolEnums;
const TOOL_GROUP_ID = "pacs-mpr";
const LOADER_SCHEME = "cornerstoneStreamingImageVolume";

export const MPR_ORIENTATIONS = [
  { name: "Axial", orientation: Enums.OrientationAxis.AXIAL },
  { name: "Sagittal", orientation: Enums.OrientationAxis.SAGITTAL },
  { name: "Coronal", orientation: Enums.OrientationAxis.CORONAL },
] as const;

let started = false;

function startOnce(): void {
  if (started) {
    return;
  }
  started = true;
  volumeLoader.registerVolumeLoader(LOADER_SCHEME, cornerstoneStreamingImageVolumeLoader as unknown as Types.VolumeLoaderFn);
  addTool(CrosshairsTool);
}

/** What the left button (and one finger) does in MPR. */
export type MprPrimary = "crosshairs" | "windowLevel" | "pan" | "zoom";

const PRIMARY_TOOLS: Record<MprPrimary, string> = {
  crosshairs: CrosshairsTool.toolName,
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
};

export interface MprSession {
  volumeId: string;
  primarySet(tool: MprPrimary): void;
  stop(): void;
}

/** Whether a stack can be reconstructed: several slices of one orientation, so a volume has depth. */
export function mprPossible(stack: SeriesStack): boolean {
  return stack.imageIds.length >= 3 && Boolean(stack.frameOfReferenceUID);
}

export async function mprStart(
  engine: RenderingEngine,
  viewports: { viewportId: string; element: HTMLDivElement }[],
  stack: SeriesStack,
): Promise<MprSession> {
  startOnce();
  const volumeId = `${LOADER_SCHEME}:${stack.seriesInstanceUID}`;
  const volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds: stack.imageIds });
  engine.setViewports(
    viewports.map(({ viewportId, element }, index) => ({
      viewportId,
      type: Enums.ViewportType.ORTHOGRAPHIC,
      element,
      defaultOptions: { orientation: MPR_ORIENTATIONS[index].orientation, background: [0, 0, 0] as Types.Point3 },
    })),
  );
  const group = ToolGroupManager.getToolGroup(TOOL_GROUP_ID) ?? ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
  if (!group) {
    throw new Error("Could not create the MPR tool group");
  }
  for (const name of [StackScrollTool.toolName, ...Object.values(PRIMARY_TOOLS)]) {
    if (!group.hasTool(name)) {
      group.addTool(name);
    }
  }
  const ids = viewports.map(({ viewportId }) => viewportId);
  for (const viewportId of ids) {
    group.addViewport(viewportId, engine.id);
  }
  (volume as unknown as { load(): void }).load();
  await setVolumesForViewports(engine, [{ volumeId }], ids);
  // Cornerstone merges bindings across setToolActive calls: each tool is cleared, then bound afresh.
  const primarySet = (primary: MprPrimary): void => {
    const chosen = PRIMARY_TOOLS[primary];
    const wanted = new Map<string, ({ mouseButton: number } | { numTouchPoints: number })[]>([
      [StackScrollTool.toolName, [{ mouseButton: MouseBindings.Wheel }]],
      [ZoomTool.toolName, [{ mouseButton: MouseBindings.Secondary }, { numTouchPoints: 2 }]],
      [PanTool.toolName, [{ mouseButton: MouseBindings.Auxiliary }]],
    ]);
    wanted.set(chosen, [...(wanted.get(chosen) ?? []), { mouseButton: MouseBindings.Primary }, { numTouchPoints: 1 }]);
    for (const name of [StackScrollTool.toolName, ...Object.values(PRIMARY_TOOLS)]) {
      group.setToolPassive(name, { removeAllBindings: true });
      const bindings = wanted.get(name);
      if (bindings) {
        group.setToolActive(name, { bindings });
      } else if (name === CrosshairsTool.toolName) {
        // Still drawn, but a passive crosshair would still take drags near its lines (rotation).
        group.setToolEnabled(name);
      }
    }
  };
  primarySet("crosshairs");
  engine.renderViewports(ids);
  return {
    volumeId,
    primarySet,
    stop: () => {
      ToolGroupManager.destroyToolGroup(TOOL_GROUP_ID);
    },
  };
}
