/**
 * 3D localisation: a point in patient coordinates moves every displayed series of the same frame of
 * reference to its nearest slice, and each viewport marks where the point falls on its image.
 */

import { Enums, type Types, getEnabledElement } from "@cornerstonejs/core";

import { type DicomJson, Tag, numberValues } from "../dicomweb/tags";
import type { ViewportCell } from "../layout/viewportCell";
import type { SeriesStack } from "./seriesStack";

type Vec3 = [number, number, number];

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function sliceNormal(instance: DicomJson): Vec3 | undefined {
  const o = numberValues(instance, Tag.ImageOrientationPatient);
  if (o.length !== 6) {
    return undefined;
  }
  return [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
}

/** The index of the slice whose plane lies nearest the point, and how far away it is (mm). */
export function nearestSlice(stack: SeriesStack, point: Vec3): { index: number; distance: number } | undefined {
  let best: { index: number; distance: number } | undefined;
  stack.imageIds.forEach((imageId, index) => {
    const instance = stack.instanceByImageId.get(imageId);
    const position = instance ? numberValues(instance, Tag.ImagePositionPatient) : [];
    const normal = instance ? sliceNormal(instance) : undefined;
    if (!normal || position.length !== 3) {
      return;
    }
    const offset: Vec3 = [point[0] - position[0], point[1] - position[1], point[2] - position[2]];
    const distance = Math.abs(dot(offset, normal));
    if (!best || distance < best.distance) {
      best = { index, distance };
    }
  });
  return best;
}

/** The markers of the located point, one per viewport cell, kept where the point projects. */
export class Localizer {
  private point: Vec3 | null = null;
  private readonly markers = new WeakMap<ViewportCell, HTMLDivElement>();
  private readonly watched = new WeakSet<ViewportCell>();

  constructor(
    private readonly cells: () => readonly ViewportCell[],
    private readonly seriesByUID: Map<string, SeriesStack>,
  ) {}

  /** Move the other series of `source`'s frame of reference to `world`, and mark it everywhere. */
  locate(source: HTMLDivElement, world: Types.Point3): void {
    this.point = [world[0], world[1], world[2]];
    const sourceCell = this.cells().find((cell) => cell.element === source);
    const sourceStack = sourceCell?.seriesInstanceUID ? this.seriesByUID.get(sourceCell.seriesInstanceUID) : undefined;
    for (const cell of this.cells()) {
      const stack = cell.seriesInstanceUID ? this.seriesByUID.get(cell.seriesInstanceUID) : undefined;
      if (!stack || cell === sourceCell) {
        continue;
      }
      if (!sourceStack || !stack.frameOfReferenceUID || stack.frameOfReferenceUID !== sourceStack.frameOfReferenceUID) {
        continue;
      }
      const nearest = nearestSlice(stack, this.point);
      const viewport = getEnabledElement(cell.element)?.viewport as Types.IStackViewport | undefined;
      if (nearest && viewport && viewport.getCurrentImageIdIndex() !== nearest.index) {
        void viewport.setImageIdIndex(nearest.index);
      }
    }
    for (const cell of this.cells()) {
      this.watch(cell);
      this.markerPlace(cell);
    }
  }

  clear(): void {
    this.point = null;
    for (const cell of this.cells()) {
      this.markerPlace(cell);
    }
  }

  private watch(cell: ViewportCell): void {
    if (this.watched.has(cell)) {
      return;
    }
    this.watched.add(cell);
    cell.element.addEventListener(Enums.Events.IMAGE_RENDERED, () => this.markerPlace(cell));
  }

  /** Show the marker where the point projects, when the image's plane passes near it. */
  private markerPlace(cell: ViewportCell): void {
    let marker = this.markers.get(cell);
    const stack = cell.seriesInstanceUID ? this.seriesByUID.get(cell.seriesInstanceUID) : undefined;
    const viewport = getEnabledElement(cell.element)?.viewport as Types.IStackViewport | undefined;
    if (!this.point || !stack || !viewport) {
      marker?.remove();
      return;
    }
    const instance = stack.instanceByImageId.get(stack.imageIds[viewport.getCurrentImageIdIndex()]);
    const position = instance ? numberValues(instance, Tag.ImagePositionPatient) : [];
    const normal = instance ? sliceNormal(instance) : undefined;
    const thickness = Math.max(2, (instance && numberValues(instance, Tag.SliceThickness)[0]) || 2);
    const offset: Vec3 = [this.point[0] - position[0], this.point[1] - position[1], this.point[2] - position[2]];
    if (!normal || position.length !== 3 || Math.abs(dot(offset, normal)) > thickness) {
      marker?.remove();
      return;
    }
    if (!marker) {
      marker = document.createElement("div");
      marker.className = "locate-marker";
      this.markers.set(cell, marker);
    }
    const [x, y] = viewport.worldToCanvas(this.point as Types.Point3);
    marker.style.left = `${x}px`;
    marker.style.top = `${y}px`;
    if (!marker.isConnected) {
      cell.root.append(marker);
    }
  }
}
