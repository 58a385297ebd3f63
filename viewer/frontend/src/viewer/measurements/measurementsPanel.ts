/**
 * The list of measurements on the open study, kept in step with Cornerstone's annotation state.
 * Each row has the tool, the image and the values; a click shows that image.
 */

import { eventTarget } from "@cornerstonejs/core";
import { Enums as ToolEnums, annotation as annotationApi, type Types as ToolTypes } from "@cornerstonejs/tools";

import { t } from "../i18n";
import { MeasurementToolNames } from "../tools/toolNames";
import { h } from "../ui/dom";
import { TOOL_LABELS, measurementText } from "./measurementText";

export class MeasurementsPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLOListElement;

  constructor(private readonly onJump: (annotation: ToolTypes.Annotation) => void) {
    this.list = h("ol", { class: "measurements-list" });
    this.root = h("section", { class: "measurements-panel", "aria-label": t("Measurements") }, h("h2", {}, t("Measurements")), this.list);
    for (const event of [
      ToolEnums.Events.ANNOTATION_COMPLETED,
      ToolEnums.Events.ANNOTATION_MODIFIED,
      ToolEnums.Events.ANNOTATION_REMOVED,
      ToolEnums.Events.ANNOTATION_ADDED,
    ]) {
      eventTarget.addEventListener(event, () => this.refresh());
    }
  }

  refresh(): void {
    const annotations = annotationApi.state
      .getAllAnnotations()
      .filter((item) => MeasurementToolNames.includes(item.metadata?.toolName ?? ""));
    this.list.replaceChildren(
      ...annotations.map((item) =>
        h(
          "li",
          { "data-tool": item.metadata?.toolName ?? "", "data-uid": item.annotationUID ?? "" },
          h("button", { type: "button", class: "link", onclick: () => this.onJump(item) }, t(TOOL_LABELS[item.metadata?.toolName ?? ""] ?? item.metadata?.toolName ?? "")),
          " ",
          h("span", { class: "measurement-value" }, measurementText(item)),
        ),
      ),
    );
    this.root.hidden = annotations.length === 0;
  }
}
