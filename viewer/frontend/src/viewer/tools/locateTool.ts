/**
 * The "locate" tool: a press (or a drag) on an image names a point in patient space; whoever listens
 * moves the other series of the same frame of reference to it. The tool itself draws nothing.
 */

import type { Types } from "@cornerstonejs/core";
import { BaseTool, type Types as ToolTypes } from "@cornerstonejs/tools";

export type LocateListener = (element: HTMLDivElement, world: Types.Point3) => void;

let listener: LocateListener = () => undefined;

export function locateListen(next: LocateListener): void {
  listener = next;
}

export class LocateTool extends BaseTool {
  static toolName = "PacsLocate";

  constructor(toolProps: ToolTypes.PublicToolProps = {}, defaultToolProps: ToolTypes.ToolProps = { configuration: {} }) {
    super(toolProps, defaultToolProps);
  }

  preMouseDownCallback = (evt: ToolTypes.EventTypes.InteractionEventType): boolean => {
    this.report(evt);
    return false;
  };

  mouseDragCallback = (evt: ToolTypes.EventTypes.InteractionEventType): void => {
    this.report(evt);
  };

  touchDragCallback = (evt: ToolTypes.EventTypes.InteractionEventType): void => {
    this.report(evt);
  };

  private report(evt: ToolTypes.EventTypes.InteractionEventType): void {
    const { element, currentPoints } = evt.detail;
    listener(element as HTMLDivElement, currentPoints.world);
  }
}
