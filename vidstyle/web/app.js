// vidstyle live page: style buttons and a strength slider over the JSON endpoints.
"use strict";
const $ = (id) => document.getElementById(id);
let shown = "";  // the style list the buttons were built for

async function post(path, body) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                               body: JSON.stringify(body)});
  if (r.ok) render(await r.json());
}

function render(s) {
  const key = s.styles.join("\n");
  if (key !== shown) {
    const box = $("styles");
    box.replaceChildren(...s.styles.map((name, i) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = name; b.dataset.style = name;
      b.addEventListener("click", () => post("api/style", {index: i}));
      return b;
    }));
    shown = key;
  }
  for (const b of $("styles").children) b.classList.toggle("active", b.dataset.style === s.style);
  if (document.activeElement !== $("strength")) $("strength").value = s.strength;
  $("strength-value").textContent = Math.round(s.strength * 100) + "%";
  $("status").textContent = `${s.style} · ${s.fps.toFixed(1)} fps · ${s.latency_ms} ms` +
                            (s.recording ? " · recording" : "");
  document.body.dataset.style = s.style;  // lets tests (and CSS) see the current style
}

async function poll() {
  try {
    const r = await fetch("api/state");
    if (r.ok) render(await r.json());
  } catch (e) {
    $("status").textContent = "disconnected";
  }
}

$("prev").addEventListener("click", () => post("api/action", {action: "prev"}));
$("next").addEventListener("click", () => post("api/action", {action: "next"}));
$("split").addEventListener("click", () => post("api/action", {action: "split"}));
$("strength").addEventListener("input", (e) => post("api/strength",
                                                   {strength: parseFloat(e.target.value)}));
poll();
setInterval(poll, 500);
