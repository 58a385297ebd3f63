/** One TipTap editor per report section, limited to what the server keeps (paragraphs, lists, emphasis). */
import { Editor } from "@tiptap/core";
import StarterKit from "@tiptap/starter-kit";

import { QualityMarks } from "./quality";
import type { Section } from "./types";

export interface SectionEditor {
  section: Section;
  editor: Editor;
  element: HTMLElement;
}

export function sectionLabel(section: Section, chinese: boolean): string {
  return section.label || (chinese ? section.title_zh : undefined) || section.title || section.key;
}

export function sectionEditorCreate(options: {
  holder: HTMLElement;
  section: Section;
  html: string;
  chinese: boolean;
  editable: boolean;
  onChange: () => void;
  onFocus: (editor: SectionEditor) => void;
}): SectionEditor {
  const { holder, section } = options;
  const wrapper = document.createElement("div");
  wrapper.className = "rw-section-block";
  const label = document.createElement("h3");
  const labelId = `rw-label-${section.key}`;
  label.id = labelId;
  label.textContent = sectionLabel(section, options.chinese) + (section.required ? " *" : "");
  const element = document.createElement("div");
  element.className = "rw-section";
  element.dataset.key = section.key;
  wrapper.append(label, element);
  holder.append(wrapper);
  const editor = new Editor({
    element,
    editable: options.editable,
    content: options.html || "",
    extensions: [
      StarterKit.configure({
        // The server's allow-list (reporting.text) keeps p, br, b/strong, i/em, u, ul/ol/li only.
        heading: false,
        blockquote: false,
        code: false,
        codeBlock: false,
        horizontalRule: false,
        strike: false,
        link: false,
      }),
      QualityMarks,
    ],
    editorProps: {
      attributes: {
        role: "textbox",
        "aria-multiline": "true",
        "aria-labelledby": labelId,
        class: "rw-prose",
        "data-key": section.key,
      },
    },
  });
  const handle: SectionEditor = { section, editor, element };
  editor.on("update", () => options.onChange());
  editor.on("focus", () => options.onFocus(handle));
  return handle;
}
