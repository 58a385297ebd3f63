/** The viewer's error state: the page cannot show the study, and says why. */

import { t } from "../i18n";

export function loadFailureShow(root: HTMLElement, error: unknown): void {
  console.error(error);
  root.dataset.state = "error";
  const message = document.createElement("div");
  message.className = "viewer-error";
  message.textContent = `${t("The study could not be loaded.")} ${String(error)}`;
  root.append(message);
}
