/**
 * Cornerstone's probe (tools 5.14) reads a stack image at (column, row, position of the slice in the
 * stack), but a stack viewport's voxel data is only the image on screen, whose one plane is 0: on every
 * slice but the first the probe read past the image and showed no value. This probe reads the image it
 * stands on. Volume viewports (MPR) are left to Cornerstone.
 */

import type { Types } from "@cornerstonejs/core";
import { ProbeTool } from "@cornerstonejs/tools";

type ImageData = Types.IImageData | Types.CPUIImageData;

export class StackProbeTool extends ProbeTool {
  protected getTargetImageData(targetId: string): ImageData {
    const data = super.getTargetImageData(targetId);
    const voxels = data?.voxelManager as Types.IVoxelManager<number> | undefined;
    if (!targetId.startsWith("imageId:") || !voxels?.getAtIJK) {
      return data;
    }
    const onePlane = Object.create(voxels) as Types.IVoxelManager<number>;
    onePlane.getAtIJKPoint = ([column, row]) => voxels.getAtIJK(column, row, 0);
    return Object.assign(Object.create(data) as ImageData, { voxelManager: onePlane });
  }
}
