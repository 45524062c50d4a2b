// Playback: a small synthesized pipe organ in WebAudio (an 8' flue of several partials,
// a quieter 4', a slight chorus, an attack and release envelope) and a cursor that
// follows the notes by verovio's timemap (each note's onset and release in ms).
"use strict";

const Organ = (() => {
  let ctx = null, out = null, wave = null;

  function setup() {
    if (ctx) return;
    ctx = new (window.AudioContext || window.webkitAudioContext)();
    // Partials of an open flue pipe: strong fundamental, weaker octave and twelfth.
    const amps = [0, 1, 0.55, 0.3, 0.2, 0.08, 0.1, 0.03, 0.05];
    wave = ctx.createPeriodicWave(new Float32Array(amps.length), new Float32Array(amps));
    const lowpass = ctx.createBiquadFilter();
    lowpass.type = "lowpass"; lowpass.frequency.value = 4200;
    const comp = ctx.createDynamicsCompressor();
    out = ctx.createGain(); out.gain.value = 0.16;
    out.connect(lowpass); lowpass.connect(comp); comp.connect(ctx.destination);
  }

  function pipe(freq, start, stop, level) {
    const env = ctx.createGain();
    env.gain.setValueAtTime(0, start);
    env.gain.linearRampToValueAtTime(level, start + 0.035);
    env.gain.setValueAtTime(level, Math.max(start + 0.035, stop - 0.02));
    env.gain.linearRampToValueAtTime(0, stop + 0.07);
    env.connect(out);
    for (const [ratio, gain, detune] of [[1, 1, 0], [1, 0.35, 6], [2, 0.25, -3]]) {
      const osc = ctx.createOscillator(), g = ctx.createGain();
      osc.setPeriodicWave(wave);
      osc.frequency.value = freq * ratio; osc.detune.value = detune;
      g.gain.value = gain;
      osc.connect(g); g.connect(env);
      osc.start(start); osc.stop(stop + 0.1);
    }
  }

  return {
    // Plays notes [{midi, ms, ms_off}] from `fromMs`; returns the context's start time.
    play(notes, fromMs) {
      setup();
      if (ctx.state === "suspended") ctx.resume();
      const t0 = ctx.currentTime + 0.08 - fromMs / 1000;
      for (const n of notes) {
        if (n.ms_off <= fromMs || !n.midi) continue;
        const freq = 440 * Math.pow(2, (n.midi - 69) / 12);
        pipe(freq, Math.max(t0 + n.ms / 1000, ctx.currentTime + 0.05), t0 + n.ms_off / 1000,
             0.5);
      }
    },
    stop() {
      if (!ctx) return;
      out.disconnect();
      out = null; const old = ctx; ctx = null; old.close();
    },
  };
})();

// The player: the organ sounds, the cursor moves to the notes sounding, they light up.
const Player = (() => {
  let timer = null, started = 0, onEnd = null;

  function sounding(notes, ms) {
    return notes.filter((n) => n.ms <= ms && ms < Math.max(n.ms_off, n.ms + 1));
  }

  function show(score, cursor, notes, ms) {
    for (const el of score.querySelectorAll("g.note.playing")) el.classList.remove("playing");
    const now = sounding(notes, ms);
    for (const n of now) document.getElementById(n.id)?.classList.add("playing");
    const first = now[0] && document.getElementById(now[0].id);
    if (!first) return;
    const box = score.getBoundingClientRect();
    const head = first.getBoundingClientRect();
    const bar = (first.closest("g.measure") || first).getBoundingClientRect();
    cursor.hidden = false;
    cursor.style.left = `${head.left - box.left + head.width / 2 - 1}px`;
    cursor.style.top = `${bar.top - box.top - 6}px`;
    cursor.style.height = `${bar.height + 12}px`;
    cursor.dataset.ms = String(Math.round(ms));
  }

  return {
    playing: () => timer !== null,
    start(score, cursor, notes, done) {
      this.stop();
      onEnd = done;
      const end = Math.max(0, ...notes.map((n) => n.ms_off));
      Organ.play(notes, 0);
      started = performance.now() + 80;
      const tick = () => {
        const ms = performance.now() - started;
        if (ms > end + 200) { this.stop(); return; }
        show(score, cursor, notes, Math.max(0, ms));
        timer = requestAnimationFrame(tick);
      };
      timer = requestAnimationFrame(tick);
      document.body.dataset.playing = "yes";
    },
    stop() {
      if (timer !== null) cancelAnimationFrame(timer);
      timer = null;
      Organ.stop();
      for (const el of document.querySelectorAll("g.note.playing")) el.classList.remove("playing");
      const cursor = document.getElementById("cursor");
      if (cursor) cursor.hidden = true;
      delete document.body.dataset.playing;
      if (onEnd) { const f = onEnd; onEnd = null; f(); }
    },
  };
})();
