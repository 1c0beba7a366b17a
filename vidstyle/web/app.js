// vidstyle live page: style buttons, a strength slider and keys over the JSON endpoints.
// Plain browser JS, no build step. The server answers every control with the new state.
"use strict";
const $ = (id) => document.getElementById(id);
let shown = "";      // the style list the buttons were built for
let current = null;  // the last state the server sent

function showError(msg) {
  $("error").textContent = msg;
  $("error").hidden = !msg;
}

async function post(path, body) {
  try {
    const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                 body: JSON.stringify(body)});
    const s = await r.json();
    if (r.ok) { showError(""); render(s); } else showError(s.error || `error ${r.status}`);
  } catch (e) {
    showError("the live session is not answering");
  }
}

// The slider fires many input events while dragged; keep one request in flight and send
// only the newest value after it, so a slow painter is not flooded with stale strengths.
let strengthBusy = false, strengthNext = null;
async function sendStrength(value) {
  if (strengthBusy) { strengthNext = value; return; }
  strengthBusy = true;
  await post("api/strength", {strength: value});
  strengthBusy = false;
  if (strengthNext !== null) { const v = strengthNext; strengthNext = null; sendStrength(v); }
}

function render(s) {
  current = s;
  const key = s.styles.join("\n");
  if (key !== shown) {
    $("styles").replaceChildren(...s.styles.map((name, i) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = name; b.dataset.style = name;
      if (i < 9) b.title = `key ${i + 1}`;
      b.addEventListener("click", () => post("api/style", {style: name}));
      return b;
    }));
    shown = key;
  }
  for (const b of $("styles").children) {
    const on = b.dataset.style === s.style;
    b.classList.toggle("active", on);
    b.setAttribute("aria-pressed", String(on));
  }
  $("split").setAttribute("aria-pressed", String(s.split));
  if (document.activeElement !== $("strength") && !strengthBusy) $("strength").value = s.strength;
  $("strength-value").textContent = Math.round(s.strength * 100) + "%";
  $("status").textContent = `${s.style} · strength ${Math.round(s.strength * 100)}% · ` +
                            `${s.fps.toFixed(1)} fps · ${s.latency_ms} ms` +
                            (s.recording ? " · ● recording" : "");
  // Lets tests (and CSS) see the current state without parsing text.
  document.body.dataset.style = s.style;
  document.body.dataset.strength = s.strength;
  document.body.dataset.frame = s.frame;
}

async function poll() {
  try {
    const r = await fetch("api/state");
    if (r.ok) render(await r.json());
  } catch (e) {
    $("status").textContent = "disconnected: the live session has ended";
  }
}

$("prev").addEventListener("click", () => post("api/action", {action: "prev"}));
$("next").addEventListener("click", () => post("api/action", {action: "next"}));
$("split").addEventListener("click", () => post("api/action", {action: "split"}));
$("strength").addEventListener("input", (e) => sendStrength(parseFloat(e.target.value)));
$("stream").addEventListener("error", () => showError("the stream stopped"));

// The same keys as the live window (where they make sense in a browser).
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || !current) return;
  if (e.target instanceof HTMLInputElement) return;  // arrows move the slider there
  const k = e.key;
  if (k === "n" || k === "ArrowRight") post("api/action", {action: "next"});
  else if (k === "p" || k === "ArrowLeft") post("api/action", {action: "prev"});
  else if (k === "c") post("api/action", {action: "split"});
  else if (k >= "1" && k <= "9" && Number(k) <= current.styles.length) {
    post("api/style", {index: Number(k) - 1});
  } else if (k === "+" || k === "=" || k === "-" || k === "_") {
    const step = (k === "+" || k === "=") ? 0.1 : -0.1;
    sendStrength(Math.min(1, Math.max(0, Math.round((current.strength + step) * 100) / 100)));
  } else return;
  e.preventDefault();
});

poll();
setInterval(poll, 500);
