// The report editor: contenteditable sections with autosave, undo, phrases, templates, key images and sign-off.
(() => {
  const config = JSON.parse(document.getElementById("rw-config").textContent);
  const api = config.api;
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
  const $ = (id) => document.getElementById(id);
  let lastFocused = null;
  let timer = null;

  async function call(method, url, body) {
    const response = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? {} : await response.json();
    if (!response.ok) throw Object.assign(new Error(data.detail || response.statusText), { data });
    return data;
  }

  function renderSections(report) {
    const holder = $("rw-sections");
    holder.replaceChildren();
    for (const section of config.sections) {
      const label = document.createElement("h3");
      label.textContent = section.label;
      const box = document.createElement("div");
      box.className = "rw-section";
      box.dataset.key = section.key;
      box.contentEditable = "true";
      box.setAttribute("aria-label", section.label);
      box.innerHTML = report.sections[section.key] || "";
      box.addEventListener("input", scheduleSave);
      box.addEventListener("focus", () => { lastFocused = box; });
      holder.append(label, box);
    }
  }

  function sections() {
    const out = {};
    document.querySelectorAll(".rw-section").forEach((box) => { out[box.dataset.key] = box.innerHTML; });
    return out;
  }

  function scheduleSave() {
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
  }

  async function save() {
    clearTimeout(timer);
    const measurements = {};
    document.querySelectorAll("[data-measure]").forEach((input) => { measurements[input.dataset.measure] = input.value; });
    try {
      await call("PATCH", api, { sections: sections(), measurements });
      $("rw-saved").textContent = "✓";
    } catch (error) { $("rw-saved").textContent = error.message; }
  }

  function insert(text) {
    const target = lastFocused || document.querySelector(".rw-section");
    target.focus();
    document.execCommand("insertText", false, text);
  }

  function renderPhrases(nodes, parent) {
    const list = document.createElement("ul");
    for (const node of nodes) {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = node.title + (node.shortcut ? ` (${node.shortcut})` : "");
      if (node.text) { label.className = "rw-phrase"; label.addEventListener("click", () => insert(node.text)); }
      item.append(label);
      if (node.children.length) renderPhrases(node.children, item);
      list.append(item);
    }
    parent.append(list);
  }

  function shortcuts(nodes, map = {}) {
    for (const node of nodes) { if (node.shortcut && node.text) map[node.shortcut.toLowerCase()] = node.text; shortcuts(node.children, map); }
    return map;
  }

  function renderMeasurements(report) {
    const holder = $("rw-measurements");
    for (const row of config.measurements) {
      const label = document.createElement("label");
      label.textContent = `${row.label} (${row.unit}, ${row.range}) `;
      const input = document.createElement("input");
      input.dataset.measure = row.key;
      input.value = report.measurements[row.key] || "";
      input.addEventListener("change", save);
      label.append(input);
      holder.append(label);
    }
  }

  function showProblems(problems) {
    const list = $("rw-problems");
    list.replaceChildren();
    for (const problem of problems) {
      const item = document.createElement("li");
      item.textContent = problem.message;
      item.dataset.code = problem.code;
      list.append(item);
      const box = document.querySelector(`.rw-section[data-key="${problem.section}"]`);
      if (box && problem.excerpt && !box.innerHTML.includes(`<mark class="rw-problem">${problem.excerpt}`)) {
        box.innerHTML = box.innerHTML.replace(problem.excerpt, `<mark class="rw-problem">${problem.excerpt}</mark>`);
      }
    }
  }

  async function submit() {
    document.querySelectorAll("mark.rw-problem").forEach((mark) => mark.replaceWith(...mark.childNodes));
    await save();
    const overrides = {};
    for (;;) {
      try { await call("POST", `${api}/submit`, { overrides }); location.reload(); return; }
      catch (error) {
        if (!error.data || !error.data.problems) { alert(error.message); return; }
        showProblems(error.data.problems);
        const code = error.data.problems.find((p) => !(p.code in overrides)).code;
        const reason = prompt(`${error.data.problems.map((p) => p.message).join("\n")}\n\n${code}:`);
        if (!reason) return;
        overrides[code] = reason;
      }
    }
  }

  async function keyImage() {
    const frame = $("rw-viewer");
    const canvas = frame.contentDocument && frame.contentDocument.querySelector("canvas");
    if (!canvas) return;
    const out = document.createElement("canvas");
    out.width = canvas.width; out.height = canvas.height;
    const context = out.getContext("2d");
    context.drawImage(canvas, 0, 0);
    const svg = canvas.parentElement && canvas.parentElement.parentElement.querySelector("svg");
    if (svg) {
      const image = new Image();
      image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(new XMLSerializer().serializeToString(svg));
      await image.decode().then(() => context.drawImage(image, 0, 0, out.width, out.height), () => undefined);
    }
    await call("POST", `${api}/key-images`, { png: out.toDataURL("image/png"), study_instance_uid: config.report.study_instance_uid });
    $("rw-saved").textContent = "✓";
  }

  function tabs() {
    const open = JSON.parse(localStorage.getItem("reporting.tabs") || "[]").filter((t) => t.url !== config.tab.url);
    open.push(config.tab);
    localStorage.setItem("reporting.tabs", JSON.stringify(open.slice(-8)));
    for (const tab of open.slice(-8)) {
      const link = document.createElement("a");
      link.href = tab.url; link.textContent = tab.title;
      if (tab.url === config.tab.url) link.setAttribute("aria-current", "page");
      $("rw-tabs").append(link);
    }
  }

  async function start() {
    tabs();
    renderSections(config.report);
    renderMeasurements(config.report);
    renderPhrases(config.phrases, $("rw-phrases"));
    const keys = shortcuts(config.phrases);
    document.addEventListener("keydown", (event) => {
      const key = event.altKey ? `alt+${event.key.toLowerCase()}` : "";
      if (key && keys[key]) { event.preventDefault(); insert(keys[key]); }
    });
    document.querySelectorAll("[data-command]").forEach((b) => b.addEventListener("click", () => document.execCommand(b.dataset.command)));
    $("rw-template").addEventListener("change", async (event) => {
      await save();
      await call("POST", `${api}/template`, { template: event.target.value });
      location.reload();
    });
    $("rw-critical").addEventListener("change", async (event) => {
      if (event.target.value) { await call("POST", `${api}/critical`, { category: event.target.value }); location.reload(); }
    });
    $("rw-key-image").addEventListener("click", keyImage);
    $("rw-submit").addEventListener("click", submit);
    const approve = $("rw-approve");
    if (approve) approve.addEventListener("click", async () => {
      try { await call("POST", `${api}/approve`); location.reload(); } catch (error) { alert(error.message); }
    });
    $("rw-amend").addEventListener("click", async () => {
      const reason = prompt("?");
      if (reason) { try { await call("POST", `${api}/amend`, { reason }); location.reload(); } catch (error) { alert(error.message); } }
    });
    if (["approved", "amended"].includes(config.report.status)) {
      document.querySelectorAll(".rw-section").forEach((box) => { box.contentEditable = "false"; });
      return;
    }
    try { await call("POST", `${api}/lock`, { take_over: false }); }
    catch (error) {
      $("rw-lock").hidden = false;
      $("rw-lock").textContent = error.message;
      document.querySelectorAll(".rw-section").forEach((box) => { box.contentEditable = "false"; });
      if (config.canTakeOver) {
        const button = document.createElement("button");
        button.textContent = "⇄";
        button.addEventListener("click", async () => { await call("POST", `${api}/lock`, { take_over: true }); location.reload(); });
        $("rw-lock").append(button);
      }
    }
    window.addEventListener("beforeunload", () => { save(); });
  }

  start();
})();
