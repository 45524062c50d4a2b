// The studio page: compose, show the score with its plan, select bars and voices,
// lock notes, regenerate, undo and redo, check, play. Every revision lives on the
// server (in the studio's folder); this tab's session id lives in sessionStorage, so a
// reload finds the same history and another tab has its own.
"use strict";

const $ = (id) => document.getElementById(id);
const session = sessionStorage.getItem("partimento-session") || (() => {
  const id = "tab-" + Array.from(crypto.getRandomValues(new Uint8Array(12)),
                                 (b) => b.toString(16).padStart(2, "0")).join("");
  sessionStorage.setItem("partimento-session", id);
  return id;
})();

const STARTER = `title: A short chorale
key: G major
meter: 4/4
bars: 8
form: chorale
cadences: {end: authentic}
rules:
  include: [common-practice]
seed: 1
`;

const state = {
  answer: null,      // the revision shown (the API's answer)
  view: "piece",     // "piece", or "exercise" while an uploaded exercise is shown
  notes: new Map(),  // id -> note of the index
  bars: null,        // [first, last] selected
  voices: null,      // a voice name selected, or null for all
  anchor: null,
  locks: new Map(),  // "bar:beat:voice" -> note id
  violations: [],
};

async function api(method, url, body) {
  const r = await fetch(url, { method, headers: body ? { "content-type": "application/json" } : {},
                               body: body ? JSON.stringify(body) : undefined });
  let data;
  try { data = await r.json(); } catch (e) { data = { errors: [{ message: `${r.status} ${r.statusText}` }] }; }
  return { ok: r.ok, status: r.status, data };
}

function say(text, kind = "") {
  const m = $("message");
  m.textContent = text;
  m.className = `status ${kind}`;
}

function describe(err) {
  const where = err.line ? `line ${err.line}${err.column ? `, column ${err.column}` : ""}: ` : "";
  const field = err.field ? `${err.field}: ` : "";
  const rules = err.rules && err.rules.length ? ` (rules: ${err.rules.join(", ")})` : "";
  return `${where}${field}${err.message}${rules}`;
}

async function busy(button, work) {
  button.classList.add("busy");
  button.disabled = true;
  try { return await work(); } finally {
    button.classList.remove("busy");
    button.disabled = false;
    refreshButtons();
  }
}

// The score --------------------------------------------------------------------------------

function voiceOf(note) {
  const voices = state.answer && state.answer.piece ? state.answer.piece.voices : [];
  return state.view === "piece" ? voices[note.staff - 1] : `staff ${note.staff}`;
}

function slotOf(note) {  // the plan's slot the note sounds in: what a lock names
  const plan = state.answer.plan || [];
  let slot = plan[0];
  for (const s of plan) if (s.on <= note.on + 1e-6) slot = s;
  return slot;
}

function showScore(svgPages, notes) {
  const score = $("score");
  Player.stop();
  for (const el of score.querySelectorAll(".page")) el.remove();
  for (const svg of svgPages || []) {
    const page = document.createElement("div");
    page.className = "page";
    page.innerHTML = svg;
    score.appendChild(page);
  }
  state.notes = new Map((notes || []).map((n) => [n.id, n]));
  score.dataset.revision = state.view === "piece" ? state.answer.revision : "exercise";
}

function svgText(parent, cls, x, y, words, size) {
  const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
  t.setAttribute("class", cls);
  t.setAttribute("x", x); t.setAttribute("y", y);
  t.setAttribute("font-size", size);
  t.textContent = words;
  parent.appendChild(t);
  return t;
}

function clearOf(label, system, space) {
  // A section letter over the first bar would sit on the tempo mark: raise it above.
  for (const mark of system.querySelectorAll("g.tempo")) {
    const m = mark.getBBox(), l = label.getBBox();
    if (l.x < m.x + m.width && m.x < l.x + l.width && l.y < m.y + m.height && m.y < l.y + l.height) {
      label.setAttribute("y", m.y - 0.5 * space);
    }
  }
}

function staffBox(staff) {  // the staff lines' top, bottom and space, and its notes' extent
  const lines = [...staff.children].filter((c) => c.tagName === "path").map((l) => l.getBBox());
  const top = Math.min(...lines.map((b) => b.y)), bottom = Math.max(...lines.map((b) => b.y + b.height));
  const notes = [...staff.querySelectorAll("g.note")].map((n) => n.getBBox());
  return { top, bottom, space: (bottom - top) / 4,
           low: Math.max(bottom, ...notes.map((b) => b.y + b.height)),
           high: Math.min(top, ...notes.map((b) => b.y)) };
}

function drawPlan(plan, phrases) {
  // Roman numerals and cadences in a row under the lowest staff of each system, the
  // section letter above the top staff where a phrase begins.
  const notes = [...state.notes.values()];
  const lowest = Math.max(0, ...notes.map((n) => n.staff));
  const rows = new Map();  // per system (its svg element): the lowest point of its bass staves
  const boxes = new Map();
  const at = (staffNo, on) => {
    const n = notes.find((x) => x.staff === staffNo && Math.abs(x.on - on) < 1e-6);
    const el = n && document.getElementById(n.id);
    if (el && !boxes.has(el.closest("g.staff"))) boxes.set(el.closest("g.staff"), staffBox(el.closest("g.staff")));
    return el;
  };
  const placed = plan.map((slot) => [slot, at(lowest, slot.on), slot.section ? at(1, slot.on) : null]);
  for (const [, el] of placed) {
    if (!el) continue;
    const system = el.closest("g.system") || el.ownerSVGElement;
    const box = boxes.get(el.closest("g.staff"));
    rows.set(system, Math.max(rows.get(system) || -Infinity, box.low));
  }
  for (const [slot, el, topEl] of placed) {
    if (!el) continue;
    const staff = el.closest("g.staff"), box = boxes.get(staff);
    const y = rows.get(el.closest("g.system") || el.ownerSVGElement) + 2.6 * box.space;
    const x = el.getBBox().x;
    if (slot.numeral) svgText(staff, "numeral", x, y, slot.numeral, 1.7 * box.space);
    if (slot.cadence) svgText(staff, "cadence", x, y + 1.9 * box.space, slot.cadence, 1.3 * box.space);
    if (topEl) {
      const top = boxes.get(topEl.closest("g.staff"));
      const label = svgText(topEl.closest("g.staff"), "phrase-section", topEl.getBBox().x,
                            top.high - 1.5 * top.space, slot.section, 1.8 * top.space);
      clearOf(label, topEl.closest("g.system") || topEl.ownerSVGElement, top.space);
    }
  }
  const list = (phrases || []).map((p, i) =>
    `<li>Phrase ${i + 1} (section ${p.section}), bars ${p.first_bar}–${p.first_bar + p.bars - 1}:` +
    ` ${p.cadence || "no"} cadence — ${p.reason}</li>`).join("");
  $("plan").innerHTML = list ? `<h3>Plan</h3><ul>${list}</ul>` : "";
}

function paintMarks() {
  const inBars = (n) => state.bars && n.bar >= state.bars[0] && n.bar <= state.bars[1];
  for (const n of state.notes.values()) {
    const el = document.getElementById(n.id);
    if (!el) continue;
    el.classList.toggle("selected", state.view === "piece" && !!inBars(n)
                        && (!state.voices || voiceOf(n) === state.voices));
  }
  for (const el of document.querySelectorAll("#score g.note.locked")) el.classList.remove("locked");
  for (const id of state.locks.values()) document.getElementById(id)?.classList.add("locked");
  const sel = $("selection");
  if (state.view !== "piece" || !state.bars) {
    sel.textContent = state.view === "piece" && state.answer
      ? "Click a note to select its bar, Shift-click to extend, Ctrl-click for its voice only, Alt-click to lock it." : "";
  } else {
    const [a, b] = state.bars;
    const bars = a === b ? `Bar ${a}` : `Bars ${a}–${b}`;
    sel.textContent = `${bars}, ${state.voices ? state.voices : "all voices"} selected` +
      (state.locks.size ? `; ${state.locks.size} note(s) locked` : "");
  }
}

function show(answer) {
  state.answer = answer;
  state.view = "piece";
  state.violations = [];
  state.locks.clear();
  showScore(answer.svg, answer.notes);
  drawPlan(answer.plan || [], answer.phrases || []);
  $("violations").innerHTML = "";
  paintMarks();
  downloads(answer.files || {});
  const warnings = (answer.warnings || []).map((w) => `bar ${w.bar}: ${w.message}`);
  say(`Revision ${answer.revision}` + (answer.meta && answer.meta.kind === "revise"
      ? ` (bars ${answer.meta.bars ? answer.meta.bars.join("–") : "all"} regenerated)` : "") +
      (warnings.length ? `; the given melody: ${warnings.join("; ")}` : ""), "ok");
  refreshButtons();
}

function downloads(files) {
  const names = { "score.musicxml": "MusicXML", "score.mid": "MIDI", "score.svg": "SVG",
                  "spec.yaml": "spec", "score.json": "piece JSON", "upload.musicxml": "exercise",
                  "annotated.musicxml": "annotated MusicXML" };
  $("downloads").innerHTML = Object.entries(files)
    .filter(([n]) => n !== "annotated.musicxml" || state.violations.length || state.view === "exercise")
    .map(([n, url]) => `<a href="${url}" download data-file="${n}">${names[n] || n}</a>`).join("");
}

function refreshButtons() {
  const has = !!state.answer && state.view === "piece";
  $("regenerate").disabled = !has || !state.bars;
  $("check").disabled = !has;
  $("play").disabled = !state.notes.size;
  $("undo").disabled = !has || !state.answer.undo;
  $("redo").disabled = !has || !state.answer.redo;
  $("play").textContent = Player.playing() ? "Stop" : "Play";
}

// Selecting, locking, hovering ----------------------------------------------------------------

$("score").addEventListener("click", (e) => {
  const el = e.target.closest("g.note");
  const note = el && state.notes.get(el.id);
  if (!note || state.view !== "piece") return;
  if (e.altKey || $("lockmode").checked) {
    const slot = slotOf(note), voice = voiceOf(note);
    const key = `${slot.bar}:${slot.beat}:${voice}`;
    if (state.locks.has(key)) state.locks.delete(key); else state.locks.set(key, note.id);
  } else if (e.shiftKey && state.anchor !== null) {
    state.bars = [Math.min(state.anchor, note.bar), Math.max(state.anchor, note.bar)];
  } else {
    state.anchor = note.bar;
    state.bars = [note.bar, note.bar];
    state.voices = e.ctrlKey || e.metaKey ? voiceOf(note) : null;
  }
  paintMarks();
  refreshButtons();
});

$("score").addEventListener("mouseover", (e) => {
  const el = e.target.closest("g.note");
  const tip = $("tooltip");
  const found = el ? state.violations.filter((v) => v.ids.includes(el.id)) : [];
  if (!found.length) { tip.hidden = true; return; }
  tip.innerHTML = found.map((v) => `<div><b>${v.rule}</b> (bar ${v.bar}, beat ${v.beat},` +
    ` ${v.voices.join("–")}): ${v.message}<br><i>${v.explanation}</i></div>`).join("");
  const r = el.getBoundingClientRect();
  tip.style.left = `${Math.min(r.right + 8, window.innerWidth - 420)}px`;
  tip.style.top = `${r.bottom + 8}px`;
  tip.hidden = false;
});

// Actions ---------------------------------------------------------------------------------------

function failed(result) {
  const errs = result.data.errors || [];
  say(errs.map(describe).join("\n") || `the studio answered ${result.status}`, "error");
  const err = errs.find((x) => x.line);
  if (err) Editor.cm.setCursor({ line: err.line - 1, ch: Math.max(0, (err.column || 1) - 1) });
}

async function compose() {
  await busy($("compose"), async () => {
    say("Composing…");
    const seed = $("seed").value === "" ? null : Number($("seed").value);
    const r = await api("POST", "/api/compose", { session, spec: Editor.cm.getValue(), seed });
    if (r.ok) show(r.data); else failed(r);
  });
}

async function regenerate() {
  if (!state.bars) return;
  await busy($("regenerate"), async () => {
    say(`Regenerating bars ${state.bars.join("–")}…`);
    const locks = [...state.locks.keys()].map((k) => {
      const [bar, beat, ...voice] = k.split(":");
      return [Number(bar), Number(beat), voice.join(":")];
    });
    const seed = $("seed").value === "" ? null : Number($("seed").value);
    const r = await api("POST", "/api/revise", {
      session, bars: state.bars, voices: state.voices ? [state.voices] : null, locks,
      plan: $("replan").checked, seed });
    const bars = state.bars, voices = state.voices;
    if (r.ok) { show(r.data); state.bars = bars; state.voices = voices; paintMarks(); refreshButtons(); }
    else failed(r);
  });
}

async function step(kind) {
  const r = await api("POST", `/api/session/${session}/${kind}`);
  if (r.ok) show(r.data); else failed(r);
}

function markViolations(result) {
  state.violations = result.violations;
  for (const v of result.violations) {
    for (const id of v.ids) {
      const el = document.getElementById(id);
      if (!el) continue;
      el.classList.add(v.severity === "error" ? "violation" : "warning");
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = `${v.rule}: ${v.message} — ${v.explanation}`;
      el.appendChild(title);
    }
  }
  const items = result.violations.map((v) =>
    `<li class="${v.severity}" data-rule="${v.rule}">bar ${v.bar}, beat ${v.beat}: <b>${v.rule}</b>` +
    ` ${v.voices.join("–")}: ${v.message}</li>`).join("");
  $("violations").innerHTML = `<h3>Check: ${result.counts.errors} error(s), ${result.counts.warnings} warning(s)` +
    ` in ${result.slices} slices, ${result.rules.length} rules</h3>` + (items ? `<ul>${items}</ul>` : "");
  downloads(result.files || {});
}

async function check() {
  await busy($("check"), async () => {
    const r = await api("POST", "/api/check", { session, revision: state.answer.revision });
    if (!r.ok) { failed(r); return; }
    show(state.answer);
    markViolations(r.data);
    say(r.data.violations.length ? "The marked notes break a rule: hover them to see why." :
        "No rule is broken.", r.data.violations.length ? "error" : "ok");
  });
}

async function checkExercise(file) {
  const text = await file.text();
  say(`Checking ${file.name}…`);
  const r = await api("POST", "/api/check", { session, musicxml: text, filename: file.name });
  if (!r.ok) { failed(r); return; }
  state.view = "exercise";
  state.bars = null;
  showScore(r.data.svg, r.data.notes);
  $("plan").innerHTML = "";
  markViolations(r.data);
  paintMarks();
  refreshButtons();
  say(`${file.name}: ` + (r.data.violations.length ? "the marked notes break a rule; hover them to see why"
      : "no rule is broken") + (state.answer ? " (Undo/Redo or Compose returns to your piece)" : ""),
      r.data.violations.length ? "error" : "ok");
}

async function loadFiles() {
  const r = await api("GET", "/api/files");
  if (!r.ok) return;
  for (const f of r.data) {
    const o = document.createElement("option");
    o.value = f.name; o.textContent = f.name; o.dataset.yaml = f.yaml;
    $("files").appendChild(o);
  }
}

async function main() {
  const cm = await Editor.init($("spec"), (answer) => {
    const s = $("spec-status");
    if (answer.errors && answer.errors.length) {
      s.textContent = answer.errors.map(describe).join("\n");
      s.className = "status error";
    } else if (answer.spec) {
      const sp = answer.spec;
      s.textContent = `✓ ${sp.bars} bars in ${sp.key}, ${sp.meter}: ${sp.voices.join(", ")}`;
      s.className = "status ok";
    }
  });
  cm.setValue(sessionStorage.getItem("partimento-draft") || STARTER);
  cm.on("change", () => sessionStorage.setItem("partimento-draft", cm.getValue()));
  cm.setOption("extraKeys", { ...cm.getOption("extraKeys"), "Ctrl-Enter": compose });
  $("compose").onclick = compose;
  $("regenerate").onclick = regenerate;
  $("undo").onclick = () => step("undo");
  $("redo").onclick = () => step("redo");
  $("check").onclick = check;
  $("exercise").onchange = (e) => { if (e.target.files[0]) checkExercise(e.target.files[0]); e.target.value = ""; };
  $("lockmode").onchange = () => document.body.classList.toggle("lock-mode", $("lockmode").checked);
  $("files").onchange = (e) => {
    const o = e.target.selectedOptions[0];
    if (o && o.dataset.yaml !== undefined) cm.setValue(o.dataset.yaml);
  };
  $("play").onclick = () => {
    if (Player.playing()) Player.stop();
    else Player.start($("score"), $("cursor"), [...state.notes.values()], refreshButtons);
    refreshButtons();
  };
  loadFiles();
  const r = await api("GET", `/api/session/${session}`);
  if (r.ok && r.data.revision) show(r.data);
  document.body.dataset.ready = "yes";
}

main();
