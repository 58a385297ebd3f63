/**
 * The report workspace: section editors (TipTap) with autosave and undo, phrases by click and shortcut,
 * structured measurements, quality marks with overrides, key images from the viewer, the patient's
 * prior reports and images for comparison, critical values and the sign-off steps.
 */
import "./workspace.css";

import { ApiError, call } from "./api";
import { showQualityMarks } from "./quality";
import { type SectionEditor, sectionEditorCreate } from "./sections";
import type { Config, KeyImageCapture, Measurement, Phrase, Prior, Problem, Report } from "./types";

const EDITABLE = new Set(["draft", "amending", "submitted", "reviewed"]);
const SUBMITTABLE = new Set(["draft", "amending"]);
const APPROVABLE = new Set(["submitted", "reviewed"]);
const FINAL = new Set(["approved", "amended"]);
const AUTOSAVE_DELAY_MS = 1200;

const config = JSON.parse(document.getElementById("rw-config")!.textContent || "{}") as Config;
const api = config.api;
let report: Report = config.report;
let editors: SectionEditor[] = [];
let lastFocused: SectionEditor | null = null;
let editable = false;
let dirty = false;
let saveTimer: number | undefined;
let saving: Promise<void> = Promise.resolve();

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
}

function t(key: string, params: Record<string, string> = {}): string {
  let text = config.text[key] || key;
  for (const [name, value] of Object.entries(params)) text = text.replace(`%(${name})s`, value);
  return text;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function notice(message: string, kind: "info" | "error" = "info"): void {
  const box = $("rw-notice");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = !message;
}

// --- Saving ---------------------------------------------------------------------------------------

function savedState(state: "saving" | "saved" | "error" | "", message = ""): void {
  const status = $("rw-saved");
  status.dataset.state = state;
  status.textContent = message;
}

function sectionsHtml(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { section, editor } of editors) out[section.key] = editor.isEmpty ? "" : editor.getHTML();
  return out;
}

function measurementValues(): Record<string, string> {
  const out: Record<string, string> = {};
  document.querySelectorAll<HTMLInputElement>("[data-measure]").forEach((input) => {
    out[input.dataset.measure!] = input.value.trim();
  });
  return out;
}

function scheduleSave(): void {
  if (!editable) return;
  dirty = true;
  window.clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => void save(), AUTOSAVE_DELAY_MS);
}

/** Saves are chained so an older request never lands after a newer one. */
function save(options: { keepalive?: boolean } = {}): Promise<void> {
  window.clearTimeout(saveTimer);
  if (!editable) return saving;
  saving = saving.then(async () => {
    if (!dirty) return;
    dirty = false;
    savedState("saving", t("saving"));
    try {
      report = await call<Report>(
        "PATCH",
        api,
        { sections: sectionsHtml(), measurements: measurementValues() },
        options,
      );
      const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      savedState("saved", t("saved", { time }));
    } catch (error) {
      dirty = true;
      savedState("error", t("saveFailed", { error: (error as Error).message }));
    }
  });
  return saving;
}

// --- Sections and phrases -------------------------------------------------------------------------

function renderSections(): void {
  const holder = $("rw-sections");
  for (const { editor } of editors) editor.destroy();
  holder.replaceChildren();
  editors = config.sections.map((section) =>
    sectionEditorCreate({
      holder,
      section,
      html: report.sections[section.key] || "",
      chinese: config.chinese,
      editable,
      onChange: scheduleSave,
      onFocus: (handle) => {
        lastFocused = handle;
      },
    }),
  );
  lastFocused = editors[0] || null;
}

function targetEditor(sectionKey = ""): SectionEditor | null {
  return editors.find((e) => sectionKey && e.section.key === sectionKey) || lastFocused || editors[0] || null;
}

/** Plain text (a phrase, a measurement line) at the cursor; line breaks become hard breaks. */
function insertText(text: string, sectionKey = ""): void {
  const target = targetEditor(sectionKey);
  if (!target || !editable) return;
  const content = text.split(/\r?\n/).flatMap((line, index) => {
    const parts: Record<string, unknown>[] = index ? [{ type: "hardBreak" }] : [];
    if (line) parts.push({ type: "text", text: line });
    return parts;
  });
  target.editor.chain().focus().insertContent(content).run();
}

function renderPhrases(nodes: Phrase[], parent: HTMLElement): void {
  const list = element("ul", { class: "rw-phrase-tree" });
  for (const node of nodes) {
    const item = element("li");
    if (node.text) {
      const button = element("button", { type: "button", class: "rw-phrase", "data-phrase": String(node.id) });
      button.textContent = node.title;
      if (node.shortcut) button.append(" ", element("kbd", {}, node.shortcut));
      button.title = node.text;
      // Keep the editor's selection: a mouse click on the button would move focus away first.
      button.addEventListener("mousedown", (event) => event.preventDefault());
      button.addEventListener("click", () => insertText(node.text, node.section));
      item.append(button);
    } else {
      item.append(element("span", { class: "rw-phrase-folder" }, node.title));
    }
    if (node.children.length) renderPhrases(node.children, item);
    list.append(item);
  }
  parent.append(list);
}

/** "Alt+1", "ctrl+alt+N" -> "alt+1", "ctrl+alt+n": the same spelling keyboardCombo() produces. */
function normalizeShortcut(value: string): string {
  const parts = value.toLowerCase().replace(/\s+/g, "").split("+").filter(Boolean);
  const key = parts.pop() || "";
  const modifiers = ["ctrl", "alt", "shift", "meta"].filter((m) => parts.includes(m));
  return [...modifiers, key].join("+");
}

function keyboardCombo(event: KeyboardEvent): string {
  // event.code keeps Alt+letter stable on layouts where Alt changes the character.
  let key = event.key.toLowerCase();
  const code = /^(?:Key([A-Z])|Digit(\d))$/.exec(event.code);
  if (code) key = (code[1] || code[2]).toLowerCase();
  const modifiers = [
    event.ctrlKey ? "ctrl" : "",
    event.altKey ? "alt" : "",
    event.shiftKey ? "shift" : "",
    event.metaKey ? "meta" : "",
  ].filter(Boolean);
  return [...modifiers, key].join("+");
}

function phraseShortcuts(nodes: Phrase[], map = new Map<string, Phrase>()): Map<string, Phrase> {
  for (const node of nodes) {
    if (node.shortcut && node.text) map.set(normalizeShortcut(node.shortcut), node);
    phraseShortcuts(node.children, map);
  }
  return map;
}

// --- Measurements ---------------------------------------------------------------------------------

function measurementFlag(row: Measurement, raw: string): "high" | "low" | "" {
  const value = Number(raw);
  if (raw.trim() === "" || Number.isNaN(value)) return "";
  if (row.high !== null && value > row.high) return "high";
  if (row.low !== null && value < row.low) return "low";
  return "";
}

function renderMeasurements(): void {
  const holder = $("rw-measurements");
  holder.replaceChildren();
  if (!config.measurements.length) {
    holder.hidden = true;
    return;
  }
  holder.hidden = false;
  const table = element("div", { class: "rw-measure-grid" });
  for (const row of config.measurements) {
    const id = `rw-measure-${row.key}`;
    const label = element("label", { for: id }, row.label);
    const input = element("input", {
      id,
      type: "text",
      inputmode: "decimal",
      autocomplete: "off",
      "data-measure": row.key,
      size: "6",
    });
    input.value = report.measurements[row.key] || row.value || "";
    input.disabled = !editable;
    const unit = element("span", { class: "rw-unit" }, row.unit);
    const range = element("span", { class: "rw-range" }, row.range ? `(${row.range} ${row.unit})` : "");
    const flag = element("span", { class: "rw-flag", "aria-live": "polite" });
    const update = (): void => {
      const state = measurementFlag(row, input.value);
      input.classList.toggle("rw-out-of-range", state !== "");
      input.setAttribute("aria-invalid", state ? "true" : "false");
      flag.textContent = state === "high" ? "↑" : state === "low" ? "↓" : "";
      flag.title = state ? t("outOfRange") : "";
    };
    input.addEventListener("input", () => {
      update();
      scheduleSave();
    });
    update();
    table.append(label, input, unit, flag, range);
  }
  const insert = element("button", { type: "button", id: "rw-insert-measurements" }, t("insertMeasurements"));
  insert.disabled = !editable;
  insert.addEventListener("mousedown", (event) => event.preventDefault());
  insert.addEventListener("click", () => {
    // Punctuation follows the report's language (its text), not the language of the page.
    const section = config.sections[0]?.key;
    const written = editors.find((e) => e.section.key === section)?.editor.getText() || "";
    const chinese = /[\u4e00-\u9fff]/.test(written) || (!written.trim() && config.chinese);
    const line = config.measurements
      .map((row) => {
        const input = document.querySelector<HTMLInputElement>(`[data-measure="${row.key}"]`);
        const value = input ? input.value.trim() : "";
        if (!value) return "";
        const flag = measurementFlag(row, value);
        return `${row.label} ${value} ${row.unit}${flag === "high" ? "↑" : flag === "low" ? "↓" : ""}`.trim();
      })
      .filter(Boolean)
      .join(chinese ? "，" : ", ");
    if (line) insertText(line + (chinese ? "。" : "."), section);
  });
  holder.append(table, insert);
}

// --- Quality problems and sign-off ----------------------------------------------------------------

function showProblems(problems: Problem[]): void {
  const list = $("rw-problems");
  list.replaceChildren();
  for (const problem of problems) {
    list.append(element("li", { "data-code": problem.code, "data-section": problem.section }, problem.message));
  }
  for (const handle of editors) {
    const marks = problems
      .filter((p) => p.section === handle.section.key)
      .map((p) => ({ excerpt: p.excerpt, message: p.message, code: p.code }));
    showQualityMarks(handle.editor, marks);
  }
}

async function checkQuality(): Promise<Problem[]> {
  const problems = await call<Problem[]>("GET", `${api}/quality`);
  showProblems(problems);
  return problems;
}

function overrideForm(problems: Problem[], overrides: Record<string, string>): void {
  const form = $("rw-override") as HTMLFormElement;
  form.replaceChildren(element("p", {}, t("overrideTitle")));
  const codes = [...new Set(problems.map((p) => p.code))];
  for (const code of codes) {
    const id = `rw-override-${code}`;
    const messages = problems.filter((p) => p.code === code).map((p) => p.message);
    const label = element("label", { for: id }, `${messages.join(" ")} — ${t("reason")}:`);
    const input = element("input", { id, type: "text", "data-override": code, maxlength: "200", required: "" });
    input.value = overrides[code] || "";
    form.append(element("div", { class: "rw-override-row" }), label, input);
  }
  const button = element("button", { type: "submit", id: "rw-override-submit" }, t("overrideSubmit"));
  form.append(button);
  form.hidden = false;
  form.querySelector<HTMLInputElement>("input")?.focus();
}

async function submit(overrides: Record<string, string> = {}): Promise<void> {
  dirty = true;
  await save();
  try {
    await call("POST", `${api}/submit`, { overrides });
    location.reload();
  } catch (error) {
    if (error instanceof ApiError && Array.isArray(error.data.problems)) {
      const problems = error.data.problems as Problem[];
      showProblems(problems);
      overrideForm(problems, overrides);
      notice(error.message, "error");
      return;
    }
    notice((error as Error).message, "error");
  }
}

/** A reason asked in a modal dialog (Escape cancels); null when cancelled. */
function askReason(title: string): Promise<string | null> {
  const dialog = $("rw-dialog") as HTMLDialogElement;
  const input = $("rw-dialog-input") as HTMLTextAreaElement;
  $("rw-dialog-title").textContent = title;
  input.value = "";
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null),
      { once: true },
    );
  });
}

async function step(method: string, path: string, body?: unknown): Promise<void> {
  try {
    await call(method, `${api}${path}`, body);
    location.reload();
  } catch (error) {
    notice((error as Error).message, "error");
  }
}

function wireSignOff(): void {
  const show = (id: string, visible: boolean): HTMLElement | null => {
    const button = document.getElementById(id);
    if (button) button.hidden = !visible;
    return button;
  };
  show("rw-submit", SUBMITTABLE.has(report.status) && editable)?.addEventListener("click", () => void submit());
  show("rw-approve", config.canApprove && APPROVABLE.has(report.status))?.addEventListener("click", async () => {
    await save();
    await step("POST", "/approve");
  });
  show("rw-return", config.canApprove && APPROVABLE.has(report.status))?.addEventListener("click", async () => {
    const reason = await askReason(t("returnTitle"));
    if (reason) await step("POST", "/return", { reason });
  });
  show("rw-amend", FINAL.has(report.status))?.addEventListener("click", async () => {
    const reason = await askReason(t("amendTitle"));
    if (reason) await step("POST", "/amend", { reason });
  });
  ($("rw-override") as HTMLFormElement).addEventListener("submit", (event) => {
    event.preventDefault();
    const overrides: Record<string, string> = {};
    document.querySelectorAll<HTMLInputElement>("[data-override]").forEach((input) => {
      if (input.value.trim()) overrides[input.dataset.override!] = input.value.trim();
    });
    if (Object.keys(overrides).length < document.querySelectorAll("[data-override]").length) {
      notice(t("overrideMissing"), "error");
      return;
    }
    void submit(overrides);
  });
  $("rw-check").addEventListener("click", async () => {
    await save();
    await checkQuality();
  });
  const critical = document.getElementById("rw-critical-form") as HTMLFormElement | null;
  critical?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(critical);
    await step("POST", "/critical", { category: data.get("category"), note: data.get("note") || "" });
  });
  document.getElementById("rw-critical-clear")?.addEventListener("click", async () => {
    const reason = await askReason(t("criticalClearTitle"));
    if (reason) await step("DELETE", "/critical", { reason });
  });
  ($("rw-template") as HTMLSelectElement).addEventListener("change", async (event) => {
    const value = (event.target as HTMLSelectElement).value;
    if (!value) return;
    dirty = true;
    await save();
    // The server keeps every section's text (see report_template_apply); the page reloads into the
    // new template's sections and measurement fields.
    await step("POST", "/template", { template: Number(value) });
  });
}

// --- Key images -----------------------------------------------------------------------------------

function renderKeyImages(): void {
  const list = $("rw-key-images");
  list.replaceChildren();
  if (!report.key_images.length) {
    list.append(element("li", { class: "rw-muted" }, t("noKeyImages")));
    return;
  }
  for (const image of report.key_images) {
    const item = element("li", { "data-key-image": String(image.id) });
    const img = element("img", { src: image.url, alt: image.caption || image.sop_instance_uid, loading: "lazy" });
    item.append(img);
    if (image.caption) item.append(element("span", {}, image.caption));
    if (editable) {
      const remove = element("button", { type: "button", class: "rw-remove" }, t("remove"));
      remove.addEventListener("click", async () => {
        try {
          await call("DELETE", `${api}/key-images/${image.id}`);
          await refreshKeyImages();
        } catch (error) {
          notice((error as Error).message, "error");
        }
      });
      item.append(remove);
    }
    list.append(item);
  }
}

async function refreshKeyImages(): Promise<void> {
  const fresh = await call<Report>("GET", api);
  report = { ...report, key_images: fresh.key_images };
  renderKeyImages();
}

/** The viewer's own capture when it offers one; otherwise the first canvas with its SVG annotations. */
async function captureFromViewer(frame: HTMLIFrameElement): Promise<KeyImageCapture | null> {
  const win = frame.contentWindow as (Window & { pacsViewer?: { captureKeyImage?: () => unknown } }) | null;
  const viewer = win?.pacsViewer;
  if (viewer && typeof viewer.captureKeyImage === "function") {
    const captured = (await viewer.captureKeyImage()) as KeyImageCapture | null;
    if (captured && captured.png) return captured;
  }
  const doc = frame.contentDocument;
  const canvases = doc ? [...doc.querySelectorAll("canvas")].filter((c) => c.width > 0 && c.height > 0) : [];
  const canvas = canvases.sort((a, b) => b.width * b.height - a.width * a.height)[0];
  if (!canvas) return null;
  const out = document.createElement("canvas");
  out.width = canvas.width;
  out.height = canvas.height;
  const context = out.getContext("2d")!;
  // Black under the image, as in the viewer: transparent pixels would print white.
  context.fillStyle = "#000";
  context.fillRect(0, 0, out.width, out.height);
  context.drawImage(canvas, 0, 0);
  const svg = canvas.closest("[data-viewport-uid], .viewport-element, div")?.parentElement?.querySelector("svg");
  if (svg) {
    const overlay = new Image();
    overlay.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
    await overlay.decode().then(
      () => context.drawImage(overlay, 0, 0, out.width, out.height),
      () => undefined,
    );
  }
  return { png: out.toDataURL("image/png"), study_instance_uid: report.study_instance_uid, annotations: [] };
}

async function addKeyImage(): Promise<void> {
  const captured = await captureFromViewer($("rw-viewer") as HTMLIFrameElement).catch(() => null);
  if (!captured) {
    notice(t("keyImageFailed"), "error");
    return;
  }
  try {
    await call("POST", `${api}/key-images`, {
      ...captured,
      study_instance_uid: captured.study_instance_uid || report.study_instance_uid,
    });
    notice(t("keyImageAdded"));
    await refreshKeyImages();
  } catch (error) {
    notice((error as Error).message, "error");
  }
}

// --- History --------------------------------------------------------------------------------------

function renderHistory(): void {
  const list = $("rw-history");
  list.replaceChildren();
  for (const prior of config.history) {
    const item = element("li", { "data-exam": String(prior.exam ?? ""), "data-study": prior.study_instance_uid });
    const title = `${prior.date} ${prior.modality} ${prior.procedures.join(", ")}`;
    item.append(prior.workspace_url ? element("a", { href: prior.workspace_url }, title) : element("span", {}, title));
    if (prior.report) {
      item.append(" · ", element("span", {}, prior.report.status_label));
      if (prior.report.critical) item.append(" ", element("span", { class: "rw-critical" }, "!"));
    }
    const open = element("button", { type: "button", class: "rw-open-prior" }, t("openPrior"));
    open.addEventListener("click", () => openPrior(prior));
    item.append(" ", open);
    list.append(item);
  }
}

function openPrior(prior: Prior): void {
  const panel = $("rw-prior");
  panel.replaceChildren();
  const heading = element("h3", {}, `${t("priorReport")}: ${prior.date} ${prior.procedures.join(", ")}`);
  const close = element("button", { type: "button", id: "rw-prior-close" }, t("closePrior"));
  close.addEventListener("click", closePrior);
  const compare = element("button", { type: "button", id: "rw-prior-compare" }, t("compareImages"));
  compare.addEventListener("click", () => comparePrior(prior));
  panel.append(heading, compare, " ", close);
  if (!prior.report) {
    panel.append(element("p", { class: "rw-muted" }, t("noReport")));
  } else {
    const signed = prior.report.signed_version;
    panel.append(
      element(
        "p",
        { class: "rw-muted" },
        `${prior.report.status_label}${signed ? ` · ${t("version")} ${signed}` : ` · ${t("notSigned")}`}`,
      ),
    );
    for (const section of prior.report.sections) {
      panel.append(element("h4", {}, section.label));
      // The text was cleaned to the server's allow-list (reporting.text.html_clean) when it was saved.
      const body = element("div", { class: "rw-prior-text" });
      body.innerHTML = section.html;
      panel.append(body);
    }
    for (const image of prior.report.key_images) {
      panel.append(element("img", { src: image.url, alt: image.caption, class: "rw-prior-image" }));
    }
  }
  panel.hidden = false;
  panel.focus();
}

function comparePrior(prior: Prior): void {
  const frame = $("rw-prior-viewer") as HTMLIFrameElement;
  if (frame.dataset.study !== prior.study_instance_uid) {
    frame.src = prior.viewer_url;
    frame.dataset.study = prior.study_instance_uid;
  }
  $("rw-prior-images-title").textContent = `${prior.date} ${prior.procedures.join(", ")}`;
  $("rw-prior-images").hidden = false;
  $("rw").classList.add("rw-comparing");
}

function closePrior(): void {
  $("rw-prior").hidden = true;
  $("rw-prior-images").hidden = true;
  $("rw").classList.remove("rw-comparing");
}

// --- Tabs, lock, start ----------------------------------------------------------------------------

function renderTabs(): void {
  let open: { url: string; title: string }[] = [];
  try {
    open = JSON.parse(localStorage.getItem("reporting.tabs") || "[]");
  } catch {
    open = [];
  }
  open = open.filter((tab) => tab.url !== config.tab.url);
  open.push(config.tab);
  open = open.slice(-8);
  localStorage.setItem("reporting.tabs", JSON.stringify(open));
  const nav = $("rw-tabs");
  for (const tab of open) {
    const link = element("a", { href: tab.url }, tab.title);
    if (tab.url === config.tab.url) link.setAttribute("aria-current", "page");
    nav.append(link);
  }
}

async function acquireLock(): Promise<boolean> {
  if (!EDITABLE.has(report.status)) {
    notice(t("readOnly"));
    return false;
  }
  try {
    report = await call<Report>("POST", `${api}/lock`, { take_over: false });
    return true;
  } catch (error) {
    if (APPROVABLE.has(report.status) && !config.canApprove) {
      // The author's own submitted report: waiting for an approver is news, not an alarm.
      notice((error as Error).message);
      return false;
    }
    const lock = $("rw-lock");
    lock.hidden = false;
    lock.textContent = (error as Error).message;
    if (config.canTakeOver && error instanceof ApiError && error.status === 409) {
      const button = element("button", { type: "button", id: "rw-take-over" }, t("takeOver"));
      button.addEventListener("click", () => void step("POST", "/lock", { take_over: true }));
      lock.append(" ", button);
    }
    return false;
  }
}

function wireKeyboard(): void {
  const shortcuts = phraseShortcuts(config.phrases);
  document.addEventListener("keydown", (event) => {
    const combo = keyboardCombo(event);
    if (combo === "ctrl+s" || combo === "meta+s") {
      event.preventDefault();
      dirty = true;
      void save();
      return;
    }
    const phrase = shortcuts.get(combo);
    if (phrase && editable) {
      event.preventDefault();
      insertText(phrase.text, phrase.section);
    }
  });
}

async function start(): Promise<void> {
  renderTabs();
  editable = await acquireLock();
  $("rw-editor").dataset.editable = String(editable);
  renderSections();
  renderMeasurements();
  renderPhrases(config.phrases, $("rw-phrases"));
  renderKeyImages();
  renderHistory();
  wireKeyboard();
  wireSignOff();
  document.querySelectorAll<HTMLButtonElement>("[data-command]").forEach((button) => {
    button.disabled = !editable;
    button.addEventListener("mousedown", (event) => event.preventDefault());
    button.addEventListener("click", () => {
      const target = targetEditor();
      if (!target) return;
      const chain = target.editor.chain().focus();
      const command = button.dataset.command;
      if (command === "undo") chain.undo().run();
      else if (command === "redo") chain.redo().run();
      else if (command === "bold") chain.toggleBold().run();
      else if (command === "italic") chain.toggleItalic().run();
      else if (command === "bulletList") chain.toggleBulletList().run();
    });
  });
  const keyImageButton = $("rw-key-image") as HTMLButtonElement;
  keyImageButton.disabled = !editable;
  keyImageButton.addEventListener("click", () => void addKeyImage());
  // The viewer (in the frame) announces key images it stored itself.
  window.addEventListener("message", (event) => {
    const frame = ($("rw-viewer") as HTMLIFrameElement).contentWindow;
    if (event.origin !== location.origin || event.source !== frame) return;
    if (event.data && event.data.type === "pacs:key-image-added") void refreshKeyImages();
  });
  // Leaving the page saves the text and gives the lock back in one request, sent on its own (not
  // after a save in flight, which the page may not live to see): it carries the whole text, so an
  // older save landing later is refused for want of the lock and loses nothing.
  window.addEventListener("pagehide", () => {
    if (!editable) return;
    window.clearTimeout(saveTimer);
    void call(
      "PATCH",
      api,
      { sections: sectionsHtml(), measurements: measurementValues(), release_lock: true },
      { keepalive: true },
    ).catch(() => undefined);
    editable = false;
  });
  // Back from the back/forward cache the lock is gone: start again from the server's state.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) location.reload();
  });
  $("rw-editor").dataset.ready = "true";
}

void start();
