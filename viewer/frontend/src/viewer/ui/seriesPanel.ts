/**
 * The series thumbnails: one card per series with its thumbnail (WADO-RS thumbnail, PS3.18
 * 10.4.1.1.4), number, description, image count and a load progress bar. A click shows the series in
 * the active viewport; a drag drops it on any viewport.
 */

import type { SeriesStack } from "../display/seriesStack";
import type { SeriesProgress } from "../loading/prefetchSeries";
import { t } from "../i18n";
import { h } from "./dom";

export class SeriesPanel {
  readonly root: HTMLElement;
  private readonly bars = new Map<string, HTMLDivElement>();
  private readonly cards = new Map<string, HTMLElement>();
  // Until the first image is drawn, the thumbnails wait: rendering them takes the server's time that
  // the first frame needs.
  private thumbnailsWanted = false;

  constructor(private readonly onChoose: (stack: SeriesStack) => void) {
    this.root = h("nav", { class: "series-panel", "aria-label": t("Series") });
  }

  render(stacks: SeriesStack[]): void {
    this.root.replaceChildren(...stacks.map((stack) => this.card(stack)));
  }

  /** Load the thumbnails from now on. */
  thumbnailsLoad(): void {
    this.thumbnailsWanted = true;
    for (const image of this.root.querySelectorAll<HTMLImageElement>("img[data-src]")) {
      image.src = image.dataset.src ?? "";
      image.removeAttribute("data-src");
    }
  }

  progressShow(progress: SeriesProgress): void {
    const bar = this.bars.get(progress.seriesInstanceUID);
    if (!bar) {
      return;
    }
    const done = progress.loaded + progress.failed;
    bar.style.width = `${(100 * done) / Math.max(1, progress.total)}%`;
    bar.parentElement?.classList.toggle("complete", done >= progress.total);
    bar.parentElement?.setAttribute("title", t("{loaded} of {total} images loaded", { loaded: progress.loaded, total: progress.total }));
  }

  /** Mark the series shown in any viewport. */
  displayedMark(seriesUIDs: Set<string>): void {
    for (const [uid, card] of this.cards) {
      card.classList.toggle("displayed", seriesUIDs.has(uid));
    }
  }

  private card(stack: SeriesStack): HTMLElement {
    const bar = h("div", { class: "progress-bar" });
    this.bars.set(stack.seriesInstanceUID, bar);
    const label = [stack.seriesNumber !== undefined ? `#${stack.seriesNumber}` : "", stack.modality]
      .filter(Boolean)
      .join(" ");
    const card = h(
      "button",
      {
        class: "series-card",
        type: "button",
        draggable: "true",
        "data-series": stack.seriesInstanceUID,
        title: stack.seriesDescription,
        onclick: () => this.onChoose(stack),
        ondragstart: ((event: DragEvent) => {
          event.dataTransfer?.setData("application/x-series-uid", stack.seriesInstanceUID);
        }) as EventListener,
      },
      h("img", {
        [this.thumbnailsWanted ? "src" : "data-src"]: stack.thumbnailUrl,
        alt: "",
        loading: "eager",
        draggable: "false",
      }),
      h("span", { class: "series-label" }, label),
      h("span", { class: "series-description" }, stack.seriesDescription),
      h("span", { class: "series-count" }, t("{count} images", { count: stack.imageIds.length })),
      h("div", { class: "progress" }, bar),
    );
    this.cards.set(stack.seriesInstanceUID, card);
    return card;
  }
}
