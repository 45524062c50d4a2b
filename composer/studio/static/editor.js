// The spec editor: CodeMirror 5 in YAML mode, checked as it is typed by the spec loader
// itself (POST /api/validate: an error at its line and column), and completing field
// names and enumerated values from the spec's JSON Schema (GET /api/schema).
"use strict";

const Editor = (() => {
  let schema = null, cm = null, onStatus = () => {};

  function resolve(node) {
    for (let i = 0; node && i < 8; i++) {
      if (node.$ref) node = schema.$defs[node.$ref.split("/").pop()];
      else if (node.anyOf || node.oneOf) {
        const options = (node.anyOf || node.oneOf).map(resolve);
        const withProps = options.find((o) => o && (o.properties || o.enum));
        return withProps || options[0];
      } else return node;
    }
    return node;
  }

  // The keys above the cursor's line, by indentation: ["rules"] inside `rules:`.
  function pathAt(line) {
    const indent = (s) => s.match(/^\s*(- )?/)[0].length;
    let depth = indent(cm.getLine(line));
    const path = [];
    for (let l = line - 1; l >= 0 && depth > 0; l--) {
      const text = cm.getLine(l);
      if (!text.trim() || text.trim().startsWith("#")) continue;
      const m = text.match(/^(\s*)(?:- )?([A-Za-z_][\w-]*)\s*:\s*$/);
      if (indent(text) < depth && m) { path.unshift(m[2]); depth = indent(text); }
      else if (indent(text) < depth) depth = indent(text);
    }
    return path;
  }

  function nodeAt(path) {
    let node = resolve(schema);
    for (const key of path) {
      node = resolve(node && node.properties ? node.properties[key] : null);
      if (node && node.type === "array" && node.items) node = resolve(node.items);
    }
    return node;
  }

  function hint(editor) {
    const cur = editor.getCursor(), text = editor.getLine(cur.line).slice(0, cur.ch);
    const value = text.match(/^\s*(?:- )?([\w-]+)\s*:\s*([\w-]*)$/);
    if (value) {  // after `key: `: the values the schema enumerates
      const node = resolve(nodeAt([...pathAt(cur.line), value[1]]));
      const list = (node && node.enum) || [];
      const words = list.map(String).filter((w) => w.startsWith(value[2]));
      return { list: words, from: CodeMirror.Pos(cur.line, cur.ch - value[2].length), to: cur };
    }
    const key = text.match(/^(\s*(?:- )?)([\w-]*)$/);
    if (!key) return null;
    const node = nodeAt(pathAt(cur.line));
    if (!node || !node.properties) return null;
    const present = new Set();
    const indent = key[1].length;
    for (let l = 0; l < editor.lineCount(); l++) {
      const m = editor.getLine(l).match(/^(\s*)([\w-]+)\s*:/);
      if (m && m[1].length === indent && l !== cur.line) present.add(m[2]);
    }
    const list = Object.keys(node.properties)
      .filter((k) => k.startsWith(key[2]) && !present.has(k))
      .map((k) => ({ text: `${k}: `, displayText: k,
                     title: node.properties[k].description || "" }));
    return { list, from: CodeMirror.Pos(cur.line, key[1].length), to: cur };
  }

  async function lint(text, update) {
    let answer;
    if (!text.trim()) { update([]); return; }
    try {
      const r = await fetch("/api/validate", { method: "POST",
        headers: { "content-type": "application/json" }, body: JSON.stringify({ spec: text }) });
      answer = await r.json();
    } catch (e) { update([]); return; }
    const marks = [];
    for (const err of answer.errors || []) {
      if (err.line) {
        const line = err.line - 1, ch = Math.max(0, (err.column || 1) - 1);
        const end = Math.max(ch + 1, cm.getLine(line) ? cm.getLine(line).length : ch + 1);
        marks.push({ from: CodeMirror.Pos(line, ch), to: CodeMirror.Pos(line, end),
                     message: (err.field ? `${err.field}: ` : "") + err.message,
                     severity: "error" });
      }
    }
    update(marks);
    onStatus(answer);
  }

  return {
    async init(textarea, status) {
      onStatus = status;
      schema = await (await fetch("/api/schema")).json();
      cm = CodeMirror.fromTextArea(textarea, {
        mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2,
        gutters: ["CodeMirror-lint-markers"],
        lint: { getAnnotations: lint, async: true, delay: 400 },
        extraKeys: { "Ctrl-Space": (e) => e.showHint({ hint, completeSingle: false }),
                     Tab: (e) => e.replaceSelection("  ") },
      });
      cm.on("inputRead", (editor, change) => {
        const before = editor.getLine(editor.getCursor().line).slice(0, editor.getCursor().ch);
        if (/^[\w-]$/.test(change.text[0]) && /^\s*(- )?[\w-]+$/.test(before)
            && !editor.state.completionActive) {
          editor.showHint({ hint, completeSingle: false });
        }
      });
      return cm;
    },
    get cm() { return cm; },
    hint,
  };
})();
