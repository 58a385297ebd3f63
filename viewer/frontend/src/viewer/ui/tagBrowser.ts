/**
 * The DICOM tag browser of the current image: every element of its WADO-RS metadata (already loaded),
 * with the keyword from the DICOM dictionary, filtered as the user types.
 */

import dcmjs from "dcmjs";

import type { DicomJson, DicomJsonElement } from "../dicomweb/tags";
import { t } from "../i18n";
import { h } from "./dom";

type Dictionary = Record<string, { name?: string }>;

/** The keywords come from dcmjs's dictionary, which the image loader bundles anyway. */
function dictionaryLoad(): Promise<Dictionary> {
  return Promise.resolve(dcmjs.data.DicomMetaDictionary.dictionary as Dictionary);
}

function tagText(tag: string): string {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`.toUpperCase();
}

function valueText(element: DicomJsonElement): string {
  if (element.BulkDataURI) {
    return t("(bulk data)");
  }
  if (element.InlineBinary) {
    return t("(binary)");
  }
  if (element.vr === "SQ") {
    return t("{count} items", { count: element.Value?.length ?? 0 });
  }
  return (element.Value ?? [])
    .map((value) =>
      value !== null && typeof value === "object"
        ? Object.values(value as Record<string, string>).join(" = ")
        : String(value),
    )
    .join("\\");
}

export class TagBrowser {
  readonly root: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly body: HTMLTableSectionElement;
  private instance: DicomJson | undefined;
  private names: Dictionary = {};

  constructor(onClose: () => void) {
    this.search = h("input", { type: "search", class: "tag-search", placeholder: t("Search tags"), "aria-label": t("Search tags") });
    this.search.addEventListener("input", () => this.filter());
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        onClose();
      }
    });
    this.body = h("tbody");
    this.root = h(
      "aside",
      { class: "tag-browser", "aria-label": t("DICOM tags"), hidden: true },
      h("div", { class: "tag-browser-head" }, h("h2", {}, t("DICOM tags")), h("button", { type: "button", onclick: () => onClose() }, t("Close"))),
      this.search,
      h("table", { class: "tag-table" }, this.body),
    );
  }

  get open(): boolean {
    return !this.root.hidden;
  }

  async show(instance: DicomJson | undefined): Promise<void> {
    this.root.hidden = false;
    this.names = await dictionaryLoad().catch(() => ({}));
    this.render(instance);
    this.search.focus();
  }

  hide(): void {
    this.root.hidden = true;
  }

  /** Show another image's tags (the user scrolled) while the browser is open. */
  render(instance: DicomJson | undefined): void {
    if (instance === this.instance && this.body.childElementCount > 0) {
      return;
    }
    this.instance = instance;
    const rows = Object.entries(instance ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([tag, element]) => {
        const label = tagText(tag);
        const name = this.names[label]?.name ?? "";
        const value = valueText(element);
        const row = h("tr", {}, h("td", { class: "tag" }, label), h("td", {}, name), h("td", {}, element.vr), h("td", { class: "tag-value" }, value));
        row.dataset.search = `${label} ${tag} ${name} ${value}`.toLowerCase();
        return row;
      });
    this.body.replaceChildren(...rows);
    this.filter();
  }

  private filter(): void {
    const words = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const row of Array.from(this.body.rows)) {
      const text = row.dataset.search ?? "";
      row.hidden = !words.every((word) => text.includes(word));
    }
  }
}
