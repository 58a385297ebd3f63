/** The keyboard shortcut help, built from the shortcut table. */

import { SHORTCUTS, keyName } from "../keyboard/shortcuts";
import { t } from "../i18n";
import { h } from "./dom";

export function helpPanelCreate(onClose: () => void): HTMLElement {
  const rows = SHORTCUTS.map((shortcut) =>
    h("tr", {}, h("td", {}, ...shortcut.keys.map((key) => h("kbd", {}, keyName(key)))), h("td", {}, t(shortcut.label))),
  );
  const panel = h(
    "div",
    { class: "help-panel", role: "dialog", "aria-label": t("Keyboard shortcuts"), hidden: true },
    h("h2", {}, t("Keyboard shortcuts")),
    h(
      "table",
      {},
      h("tbody", {}, ...rows,
        h("tr", {}, h("td", {}, t("Wheel")), h("td", {}, t("Scroll images"))),
        h("tr", {}, h("td", {}, t("Right drag")), h("td", {}, t("Zoom"))),
        h("tr", {}, h("td", {}, t("Middle drag")), h("td", {}, t("Pan"))),
      ),
    ),
    h("button", { type: "button", onclick: () => onClose() }, t("Close")),
  );
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      onClose();
    }
  });
  return panel;
}
