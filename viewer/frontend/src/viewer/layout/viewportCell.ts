/**
 * One cell of the viewport grid: the Cornerstone element, the four overlay corners, a scrollbar and a
 * drop target for series dragged from the thumbnails.
 */

import { h } from "../ui/dom";

export interface ViewportCell {
  index: number;
  viewportId: string;
  root: HTMLDivElement;
  element: HTMLDivElement;
  corners: { topLeft: HTMLDivElement; topRight: HTMLDivElement; bottomLeft: HTMLDivElement; bottomRight: HTMLDivElement };
  scrollbar: HTMLInputElement;
  seriesInstanceUID: string | null;
}

export function viewportCellCreate(index: number): ViewportCell {
  const element = h("div", { class: "viewport-element", "data-viewport-index": index });
  // Cornerstone tools handle the mouse; the browser menu would hide the right-button zoom.
  element.addEventListener("contextmenu", (event) => event.preventDefault());
  const corners = {
    topLeft: h("div", { class: "overlay overlay-tl" }),
    topRight: h("div", { class: "overlay overlay-tr" }),
    bottomLeft: h("div", { class: "overlay overlay-bl" }),
    bottomRight: h("div", { class: "overlay overlay-br" }),
  };
  const scrollbar = h("input", {
    class: "stack-scrollbar",
    type: "range",
    min: 0,
    max: 0,
    value: 0,
    step: 1,
    "aria-label": "slice",
    // Shown once the cell has a series of more than one image.
    hidden: true,
  });
  const root = h(
    "div",
    { class: "viewport-cell", "data-index": index },
    element,
    corners.topLeft,
    corners.topRight,
    corners.bottomLeft,
    corners.bottomRight,
    scrollbar,
  );
  return { index, viewportId: `viewport-${index}`, root, element, corners, scrollbar, seriesInstanceUID: null };
}
