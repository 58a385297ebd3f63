/**
 * Key images for the report: the active viewport rendered with its annotations as a PNG, sent to the
 * reporting API of the report named in the viewer URL (`&report=<id>`).
 */

import { type Types, getEnabledElement } from "@cornerstonejs/core";
import { annotation as annotationApi } from "@cornerstonejs/tools";

import type { SeriesStack } from "../display/seriesStack";
import { Tag, stringValue } from "../dicomweb/tags";

export interface KeyImage {
  png: string;
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  frame: number;
  annotations: unknown[];
}

function imageLoaded(source: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("The annotation layer could not be drawn"));
    image.src = source;
  });
}

/** The canvas of a viewport with its SVG annotation layer drawn over it, as a PNG data URL. */
export async function viewportPng(element: HTMLDivElement): Promise<string> {
  const canvas = element.querySelector("canvas");
  if (!canvas) {
    throw new Error("The viewport has no image");
  }
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const context = out.getContext("2d");
  if (!context) {
    throw new Error("No 2D canvas");
  }
  context.drawImage(canvas, 0, 0);
  const svg = element.querySelector("svg");
  if (svg) {
    const rect = canvas.getBoundingClientRect();
    const copy = svg.cloneNode(true) as SVGSVGElement;
    copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    copy.setAttribute("width", String(rect.width));
    copy.setAttribute("height", String(rect.height));
    const xml = new XMLSerializer().serializeToString(copy);
    const layer = await imageLoaded(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(xml)}`);
    context.drawImage(layer, 0, 0, out.width, out.height);
  }
  return out.toDataURL("image/png");
}

/** The key image of what `element` shows: pixels, the image's identity and its measurements. */
export async function keyImageCapture(element: HTMLDivElement, stack: SeriesStack): Promise<KeyImage> {
  const viewport = getEnabledElement(element)?.viewport as Types.IStackViewport | undefined;
  if (!viewport) {
    throw new Error("The viewport shows no image");
  }
  const index = viewport.getCurrentImageIdIndex();
  const imageId = stack.imageIds[index];
  const instance = stack.instanceByImageId.get(imageId);
  const frame = Number(/\/frames\/(\d+)$/.exec(imageId)?.[1] ?? 1);
  const annotations = (annotationApi.state.getAllAnnotations() ?? []).filter(
    (item) => item.metadata?.referencedImageId === imageId,
  );
  return {
    png: await viewportPng(element),
    study_instance_uid: stack.studyInstanceUID,
    series_instance_uid: stack.seriesInstanceUID,
    sop_instance_uid: instance ? stringValue(instance, Tag.SOPInstanceUID) : "",
    frame,
    annotations: JSON.parse(JSON.stringify(annotations)) as unknown[],
  };
}

function cookie(name: string): string {
  const found = document.cookie.split("; ").find((item) => item.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

export async function keyImageSend(url: string, fallbackToken: string, image: KeyImage): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": cookie("csrftoken") || fallbackToken },
    body: JSON.stringify(image),
  });
  if (!response.ok) {
    let detail = `${response.status}`;
    try {
      const body = (await response.json()) as { detail?: string };
      detail = body.detail ?? JSON.stringify(body);
    } catch {
      // Not JSON: the status says enough.
    }
    throw new Error(detail);
  }
}
