/**
 * Quality problems shown in the text: inline decorations over each problem's excerpt. Decorations are
 * drawn by the view and never enter the document, so the saved HTML stays clean and undo ignores them;
 * they follow edits until the next check replaces them.
 */
import { Extension } from "@tiptap/core";
import type { Editor } from "@tiptap/core";
import type { Node as ProseMirrorNode } from "@tiptap/pm/model";
import { Plugin, PluginKey } from "@tiptap/pm/state";
import { Decoration, DecorationSet } from "@tiptap/pm/view";

export interface Mark {
  excerpt: string;
  message: string;
  code: string;
}

const key = new PluginKey<DecorationSet>("reportQuality");

function decorations(doc: ProseMirrorNode, marks: Mark[]): DecorationSet {
  const found: Decoration[] = [];
  doc.descendants((node, position) => {
    if (!node.isText || !node.text) return;
    for (const mark of marks) {
      if (!mark.excerpt) continue;
      let index = node.text.indexOf(mark.excerpt);
      while (index >= 0) {
        found.push(
          Decoration.inline(position + index, position + index + mark.excerpt.length, {
            class: "rw-problem",
            title: mark.message,
            "data-code": mark.code,
          }),
        );
        index = node.text.indexOf(mark.excerpt, index + mark.excerpt.length);
      }
    }
  });
  return DecorationSet.create(doc, found);
}

export const QualityMarks = Extension.create({
  name: "qualityMarks",
  addProseMirrorPlugins() {
    return [
      new Plugin<DecorationSet>({
        key,
        state: {
          init: () => DecorationSet.empty,
          apply(transaction, set) {
            const marks = transaction.getMeta(key) as Mark[] | undefined;
            if (marks) return decorations(transaction.doc, marks);
            return set.map(transaction.mapping, transaction.doc);
          },
        },
        props: {
          decorations(state) {
            return key.getState(state);
          },
        },
      }),
    ];
  },
});

export function showQualityMarks(editor: Editor, marks: Mark[]): void {
  editor.view.dispatch(editor.state.tr.setMeta(key, marks).setMeta("addToHistory", false));
}
