/**
 * The study browser page is rendered by Django and works without script. This adds what a script
 * makes faster: favourite toggles without a reload, and Enter on a row to open the viewer.
 */

import "./browser.css";

function csrfToken(): string {
  return document.querySelector<HTMLInputElement>("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

document.addEventListener("submit", async (event) => {
  const form = event.target as HTMLFormElement;
  if (!form.matches("form.favourite")) {
    return;
  }
  event.preventDefault();
  const response = await fetch(form.action, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
  });
  if (response.ok) {
    const { favourite } = (await response.json()) as { favourite: boolean };
    form.classList.toggle("on", favourite);
    form.querySelector("button")?.setAttribute("aria-pressed", String(favourite));
  }
});

document.addEventListener("keydown", (event) => {
  const row = (event.target as HTMLElement).closest<HTMLTableRowElement>("tr[data-viewer-url]");
  if (row && event.key === "Enter") {
    window.location.assign(row.dataset.viewerUrl ?? "");
  }
});
