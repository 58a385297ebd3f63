/**
 * The toolbar: the primary mouse tool, window presets, image actions, layout, panel positions and help.
 * Every control names its keyboard shortcut in its tooltip.
 */

import type { PanelPosition } from "../config";
import type { Layout } from "../layout/viewportGrid";
import type { PrimaryTool } from "../tools/toolNames";
import type { WindowPreset } from "../tools/windowPresets";
import { t } from "../i18n";
import { h } from "./dom";

export type ImageAction = "invert" | "rotate" | "flipH" | "flipV" | "fit" | "reset";

export interface ToolbarHandlers {
  toolChoose(tool: PrimaryTool): void;
  presetApply(preset: WindowPreset): void;
  action(action: ImageAction): void;
  layoutChoose(layout: Layout): void;
  thumbnailsPositionChoose(position: PanelPosition): void;
  toolbarPositionChoose(position: PanelPosition): void;
  helpToggle(): void;
}

export const TOOL_BUTTONS: { tool: PrimaryTool; label: string; key: string }[] = [
  { tool: "windowLevel", label: "Window", key: "W" },
  { tool: "pan", label: "Pan", key: "P" },
  { tool: "zoom", label: "Zoom", key: "Z" },
  { tool: "length", label: "Length", key: "L" },
  { tool: "angle", label: "Angle", key: "A" },
  { tool: "rectangle", label: "Rectangle", key: "R" },
  { tool: "ellipse", label: "Ellipse", key: "E" },
  { tool: "probe", label: "Probe", key: "B" },
];

export const ACTION_BUTTONS: { action: ImageAction; label: string; key: string }[] = [
  { action: "invert", label: "Invert", key: "I" },
  { action: "rotate", label: "Rotate", key: "T" },
  { action: "flipH", label: "Flip H", key: "H" },
  { action: "flipV", label: "Flip V", key: "V" },
  { action: "fit", label: "Fit", key: "F" },
  { action: "reset", label: "Reset", key: "Space" },
];

export const LAYOUTS: Layout[] = [
  { rows: 1, columns: 1 },
  { rows: 1, columns: 2 },
  { rows: 2, columns: 1 },
  { rows: 2, columns: 2 },
  { rows: 2, columns: 3 },
  { rows: 3, columns: 3 },
];

const POSITIONS: PanelPosition[] = ["left", "right", "top", "bottom"];
const POSITION_LABELS: Record<PanelPosition, string> = { left: "Left", right: "Right", top: "Top", bottom: "Bottom" };

export class Toolbar {
  readonly root: HTMLElement;
  private readonly toolButtons = new Map<PrimaryTool, HTMLButtonElement>();
  private readonly presetSelect: HTMLSelectElement;
  private readonly layoutSelect: HTMLSelectElement;
  private presets: WindowPreset[] = [];

  constructor(
    handlers: ToolbarHandlers,
    positions: { thumbnails: PanelPosition; toolbar: PanelPosition },
    browserUrl: string,
  ) {
    const tools = TOOL_BUTTONS.map(({ tool, label, key }) => {
      const button = h(
        "button",
        { type: "button", class: "tool", "data-tool": tool, title: `${t(label)} (${key})`, onclick: () => handlers.toolChoose(tool) },
        t(label),
      );
      this.toolButtons.set(tool, button);
      return button;
    });
    this.presetSelect = h("select", { class: "presets", "aria-label": t("Window presets") });
    this.presetSelect.addEventListener("change", () => {
      const preset = this.presets[Number(this.presetSelect.value)];
      if (preset) {
        handlers.presetApply(preset);
      }
      this.presetSelect.value = "";
    });
    const actions = ACTION_BUTTONS.map(({ action, label, key }) =>
      h(
        "button",
        { type: "button", class: "action", "data-action": action, title: `${t(label)} (${key})`, onclick: () => handlers.action(action) },
        t(label),
      ),
    );
    this.layoutSelect = h(
      "select",
      { class: "layouts", "aria-label": t("Layout") },
      ...LAYOUTS.map((layout, index) => h("option", { value: index }, `${layout.rows}×${layout.columns}`)),
    );
    this.layoutSelect.addEventListener("change", () => handlers.layoutChoose(LAYOUTS[Number(this.layoutSelect.value)]));
    const positionSelect = (label: string, current: PanelPosition, choose: (position: PanelPosition) => void) => {
      const select = h(
        "select",
        { "aria-label": t(label), title: t(label) },
        ...POSITIONS.map((position) =>
          h("option", { value: position, selected: position === current }, `${t(label)}: ${t(POSITION_LABELS[position])}`),
        ),
      );
      select.addEventListener("change", () => choose(select.value as PanelPosition));
      return select;
    };
    this.root = h(
      "div",
      { class: "toolbar", role: "toolbar" },
      h("a", { class: "back", href: browserUrl, title: t("Study list") }, t("Studies")),
      h("div", { class: "group" }, ...tools),
      h("div", { class: "group" }, this.presetSelect),
      h("div", { class: "group" }, ...actions),
      h("div", { class: "group" }, this.layoutSelect),
      h(
        "div",
        { class: "group" },
        positionSelect("Thumbnails", positions.thumbnails, handlers.thumbnailsPositionChoose),
        positionSelect("Toolbar", positions.toolbar, handlers.toolbarPositionChoose),
      ),
      h("button", { type: "button", class: "help", title: `${t("Keyboard shortcuts")} (?)`, onclick: () => handlers.helpToggle() }, "?"),
    );
  }

  toolShow(tool: PrimaryTool): void {
    for (const [name, button] of this.toolButtons) {
      button.classList.toggle("active", name === tool);
      button.setAttribute("aria-pressed", String(name === tool));
    }
  }

  presetsShow(presets: WindowPreset[]): void {
    this.presets = presets;
    this.presetSelect.replaceChildren(
      h("option", { value: "", selected: true }, t("Window presets")),
      ...presets.map((preset, index) =>
        h("option", { value: index }, `${t(preset.label)} (${preset.width}/${preset.center})${preset.key ? ` [${preset.key}]` : ""}`),
      ),
    );
  }

  layoutShow(layout: Layout): void {
    const index = LAYOUTS.findIndex((item) => item.rows === layout.rows && item.columns === layout.columns);
    this.layoutSelect.value = String(Math.max(0, index));
  }
}
