// The predictor's page. It uses only the public APIs, the same ones any
// client calls, and builds every element with textContent (never as markup),
// so nothing a model or a file name says can become markup.
"use strict";

const REFRESH_MS = 3000;
const INFERENCE_ENDPOINTS = new Set(["predict", "classify", "classify_image", "infer"]);
const $ = (id) => document.getElementById(id);

const page = {
  model: null,      // the model shown, from /ui/models/{name} or the only one served
  index: [],        // rows of /v2/repository/index
  files: [],        // the images of the last try
  lastScrape: null, // the previous /metrics sample, for rates
};

// ---- helpers ---------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function show(id, message) {
  const node = $(id);
  node.textContent = message || "";
  node.hidden = !message;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// api calls the predictor and returns the decoded JSON and the latency; a
// non-2xx reply throws with the API's own error text.
async function api(path, options = {}) {
  const start = performance.now();
  const response = await fetch(path, options);
  const text = await response.text();
  const ms = performance.now() - start;
  let body = null;
  try {
    body = JSON.parse(text);
  } catch (_) {
    // not JSON: keep the text for the error below
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : text || response.statusText;
    throw new ApiError(response.status, `HTTP ${response.status}: ${message}`);
  }
  return { body, ms };
}

const modelPath = (name) => `/v1/models/${encodeURIComponent(name)}`;

// targetPath is the model path for a "latest", "version:N" or "label:L" choice.
function targetPath(name, target) {
  const [kind, value] = target.split(/:(.*)/s);
  if (kind === "version") return `${modelPath(name)}/versions/${encodeURIComponent(value)}`;
  if (kind === "label") return `${modelPath(name)}/labels/${encodeURIComponent(value)}`;
  return modelPath(name);
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el("tr", {}, ...cells.map((c) =>
    c instanceof Node ? el("td", {}, c) : el("td", { text: String(c) })))));
}

function fixed(value, digits = 4) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

// ---- models and versions ---------------------------------------------------

async function refreshModels() {
  try {
    const { body } = await api("/v2/repository/index", { method: "POST", body: "{}" });
    page.index = body;
    show("models-error", "");
  } catch (err) {
    show("models-error", `Cannot list models: ${err.message}`);
    return;
  }
  const byModel = new Map();
  for (const row of page.index) {
    if (!byModel.has(row.name)) byModel.set(row.name, []);
    if (row.version) byModel.get(row.name).push(row);
  }
  const items = [...byModel].map(([name, rows]) => el("li", { class: name === page.model ? "current" : "" },
    el("a", { href: `/ui/models/${encodeURIComponent(name)}`, text: name, "data-model": name }),
    el("ul", {}, ...rows.map((r) => el("li", {
      class: `version state-${r.state.toLowerCase()}`, "data-model": name, "data-version": r.version,
      "data-state": r.state, title: r.reason || "",
      text: `v${r.version} ${r.state}${(r.labels || []).map((l) => ` [${l}]`).join("")}`,
    })))));
  $("model-list").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "no models yet" })]));
  if (!page.model && byModel.size === 1) openModel([...byModel.keys()][0]);
  if (page.model) await refreshVersions();
}

function labelsOf(version) {
  const row = page.index.find((r) => r.name === page.model && r.version === version);
  return row && row.labels ? row.labels : [];
}

async function refreshVersions() {
  let status;
  try {
    ({ body: status } = await api(modelPath(page.model)));
  } catch (err) {
    replaceRows($("versions").tBodies[0], [["–", "–", "–", err.message]]);
    return;
  }
  const versions = status.model_version_status;
  replaceRows($("versions").tBodies[0], versions.map((v) => [
    v.version, v.state, labelsOf(v.version).join(", "),
    v.status.error_message || v.status.error_code,
  ]));
  const available = versions.filter((v) => v.state === "AVAILABLE").map((v) => v.version);
  const labels = [...new Set(available.flatMap(labelsOf))];
  const choices = [["latest", "latest"], ...available.map((v) => [`version:${v}`, `version ${v}`]),
    ...labels.map((l) => [`label:${l}`, `label ${l}`])];
  fillSelect($("target-a"), choices);
  fillSelect($("target-b"), [["", "(none)"], ...choices]);
  fillSelect($("card-version"), available.map((v) => [v, `version ${v}`]));
  if (!page.cardShown && available.length) {
    page.cardShown = true;
    loadCard($("card-version").value);
  }
}

// fillSelect replaces a select's options, keeping the choice when it is still offered.
function fillSelect(select, choices) {
  const keep = select.value;
  const same = select.options.length === choices.length &&
    choices.every(([value], i) => select.options[i].value === value);
  if (same) return;
  select.replaceChildren(...choices.map(([value, text]) => el("option", { value, text })));
  if (choices.some(([value]) => value === keep)) select.value = keep;
}

function openModel(name) {
  page.model = name;
  page.cardShown = false;
  $("model").hidden = false;
  $("pick").hidden = true;
  $("model-name").textContent = name;
  document.title = `${name} · imgclf predictor`;
  $("endpoint").textContent = `POST ${modelPath(name)}:classify-image`;
  loadSignature();
}

async function loadSignature() {
  try {
    const { body } = await api(`${modelPath(page.model)}/metadata`);
    $("signature-version").textContent = `version ${body.model_spec.version}`;
    const rows = [];
    for (const [name, sig] of Object.entries(body.metadata.signature_def.signature_def).sort()) {
      for (const [side, tensors] of [["input", sig.inputs], ["output", sig.outputs]]) {
        for (const [key, info] of Object.entries(tensors).sort()) {
          const dims = info.tensor_shape.unknown_rank ? "unknown rank"
            : `[${info.tensor_shape.dim.map((d) => (d.size === "-1" ? "None" : d.size)).join(", ")}]`;
          rows.push([name, side, key, info.dtype, dims]);
        }
      }
    }
    replaceRows($("signature").tBodies[0], rows);
    show("signature-error", "");
  } catch (err) {
    show("signature-error", err.message);
  }
}

// ---- try it ----------------------------------------------------------------

function takeFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  page.files = files;
  classify();
}

async function classifyWith(target, files, k) {
  const form = new FormData();
  for (const f of files) form.append("image", f, f.name || "pasted-image");
  try {
    const { body, ms } = await api(`${targetPath(page.model, target)}:classify-image?k=${k}`,
      { method: "POST", body: form });
    return { body, ms };
  } catch (err) {
    return { error: err.message, status: err.status };
  }
}

// classify sends the images as one request per version, as a client
// would. When that is refused for one bad file (400 or 415, not a limit),
// each image is sent alone too, so the good ones still show their labels
// and the bad one shows the API's error.
async function classify() {
  const files = page.files;
  const k = Math.max(1, parseInt($("top-k").value, 10) || 5);
  const targets = [$("target-a").value, $("target-b").value].filter(Boolean);
  show("try-error", "");
  $("results").replaceChildren(el("p", { class: "muted", text: `classifying ${files.length} image(s)…` }));
  const answers = await Promise.all(targets.map(async (target) => {
    const batch = await classifyWith(target, files, k);
    if (!batch.error) return files.map((_, i) => ({ body: batch.body, ms: batch.ms, result: batch.body.results[i] }));
    if (files.length === 1 || ![400, 415].includes(batch.status)) {
      show("try-error", `${target}: ${batch.error}`);
      return files.map(() => batch);
    }
    show("try-error", `${target}: the request with all ${files.length} images was refused (${batch.error}); each image was then sent on its own`);
    return Promise.all(files.map(async (file) => {
      const alone = await classifyWith(target, [file], k);
      return alone.error ? alone : { body: alone.body, ms: alone.ms, result: alone.body.results[0], alone: true };
    }));
  }));
  $("results").replaceChildren(...files.map((file, i) => resultRow(file, targets, answers.map((a) => a[i]), files.length)));
}

function resultRow(file, targets, answers, count) {
  const thumb = el("img", { alt: file.name, src: URL.createObjectURL(file) });
  thumb.addEventListener("load", () => URL.revokeObjectURL(thumb.src), { once: true });
  const columns = targets.map((target, t) => {
    const answer = answers[t];
    const column = el("div", { class: "answer", "data-target": target });
    if (answer.error) {
      column.append(el("p", { class: "answer-head", text: target }), el("p", { class: "error", text: answer.error }));
      return column;
    }
    const n = answer.alone ? 1 : count;
    column.setAttribute("data-version", answer.body.version);
    column.append(el("p", { class: "answer-head",
      text: `${target} → version ${answer.body.version} · ${answer.ms.toFixed(0)} ms for ${n} image${n > 1 ? "s" : ""}` }));
    for (const p of answer.result.predictions) {
      const fill = el("span", { class: "fill" });
      fill.style.width = `${Math.max(0, Math.min(1, p.score)) * 100}%`;
      column.append(el("div", { class: "prediction", "data-label": p.label, "data-score": String(p.score) },
        el("span", { class: "label", text: p.label }), el("span", { class: "bar" }, fill),
        el("span", { class: "score", text: fixed(p.score) })));
    }
    return column;
  });
  return el("div", { class: "result", "data-file": file.name },
    el("figure", {}, thumb, el("figcaption", { text: file.name })), ...columns);
}

// ---- model card ------------------------------------------------------------

async function loadCard(version) {
  if (!version) return;
  const path = `${modelPath(page.model)}/versions/${encodeURIComponent(version)}/card`;
  $("card-raw").href = path;
  try {
    const { body } = await api(path);
    renderCard(body.card);
    show("card-error", "");
    $("card-body").hidden = false;
  } catch (err) {
    $("card-body").hidden = true;
    show("card-error", err.message);
  }
}

function renderCard(card) {
  const ev = card.evaluation || {};
  $("card-accuracy").textContent = fixed(ev.accuracy);
  $("card-accuracy").setAttribute("data-value", String(ev.accuracy));
  $("card-loss").textContent = fixed(ev.loss);
  $("card-verdict").textContent = ev.reason || "–";
  $("card-created").textContent = card.created_at || "–";
  $("card-code").textContent = card.code_version || "–";
  $("card-tf").textContent = card.tensorflow_version || "–";
  $("card-fingerprint").textContent = card.data_fingerprint || "–";

  const perClass = ev.per_class || {};
  const classes = ev.classes || card.classes || Object.keys(perClass);
  table($("card-per-class"), ["class", "precision", "recall", "f1", "support"],
    classes.map((c) => [c, fixed(perClass[c]?.precision), fixed(perClass[c]?.recall), fixed(perClass[c]?.f1),
      perClass[c]?.support ?? "–"]));
  confusion($("card-confusion"), classes, ev.confusion_matrix || []);

  const counts = card.data_counts || {};
  const splits = Object.keys(counts);
  table($("card-counts"), ["class", ...splits],
    (card.classes || classes).map((c) => [c, ...splits.map((s) => counts[s][c] ?? 0)]));
  table($("card-training"), ["parameter", "value"],
    Object.entries(card.training || {}).map(([key, value]) => [key, JSON.stringify(value)]));
}

function table(node, header, rows) {
  node.replaceChildren(el("thead", {}, el("tr", {}, ...header.map((h) => el("th", { text: h })))), el("tbody"));
  replaceRows(node.tBodies[0], rows);
}

// confusion shades each cell by its share of the true class's images.
function confusion(node, classes, matrix) {
  node.replaceChildren(el("thead", {}, el("tr", {}, el("th"), ...classes.map((c) => el("th", { text: c })))));
  const body = el("tbody");
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    body.append(el("tr", {}, el("th", { text: classes[i] }), ...row.map((n, j) => {
      const cell = el("td", { text: String(n), class: i === j ? "diag" : "" });
      cell.style.setProperty("--share", String(n / total));
      return cell;
    })));
  });
  node.append(body);
}

// ---- serving now -----------------------------------------------------------

// parseMetrics sums the inference series of the Prometheus text format:
// requests, errors (4xx and 5xx) and the latency histogram's buckets.
function parseMetrics(text) {
  const sample = { at: performance.now(), requests: 0, errors: 0, buckets: new Map() };
  for (const line of text.split("\n")) {
    const m = line.match(/^(predictor_requests_total|predictor_request_duration_seconds_bucket)\{([^}]*)\} (\S+)$/);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (!INFERENCE_ENDPOINTS.has(labels.endpoint)) continue;
    const value = Number(m[3]);
    if (m[1] === "predictor_requests_total") {
      sample.requests += value;
      if (/^[45]/.test(labels.code)) sample.errors += value;
    } else {
      const le = labels.le === "+Inf" ? Infinity : Number(labels.le);
      sample.buckets.set(le, (sample.buckets.get(le) || 0) + value);
    }
  }
  return sample;
}

// quantile interpolates within the bucket that holds the q-th request, as
// Prometheus's histogram_quantile does.
function quantile(q, buckets) {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) || 0;
  if (!total) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound);
    if (count >= rank) {
      if (bound === Infinity) return lower;
      return lower + (bound - lower) * ((rank - below) / Math.max(count - below, 1e-9));
    }
    lower = bound;
    below = count;
  }
  return lower;
}

function formatSeconds(s) {
  if (s === null) return "–";
  return s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`;
}

async function refreshServingNow() {
  let sample;
  try {
    const response = await fetch("/metrics");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    sample = parseMetrics(await response.text());
  } catch (err) {
    $("now-note").textContent = `metrics are not reachable here (${err.message}); ` +
      "the Gateway routes only the model APIs, so open the page through a port-forward to see them";
    return;
  }
  const prev = page.lastScrape;
  page.lastScrape = sample;
  if (!prev) return;
  const seconds = (sample.at - prev.at) / 1000;
  const requests = sample.requests - prev.requests;
  const delta = new Map([...sample.buckets].map(([le, n]) => [le, n - (prev.buckets.get(le) || 0)]));
  $("now-rate").textContent = (requests / seconds).toFixed(2);
  $("now-errors").textContent = ((sample.errors - prev.errors) / seconds).toFixed(2);
  $("now-p50").textContent = formatSeconds(quantile(0.5, delta));
  $("now-p99").textContent = formatSeconds(quantile(0.99, delta));
  $("now-note").textContent = `inference requests over the last ${seconds.toFixed(0)} s, from /metrics`;
}

// ---- start -----------------------------------------------------------------

async function showServer() {
  try {
    const { body } = await api("/v2");
    $("server-info").textContent = `${body.name} ${body.version}`;
  } catch (_) {
    // the header is decoration; the model list reports errors
  }
}

function wire() {
  $("files").addEventListener("change", (e) => takeFiles(e.target.files));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    takeFiles(e.dataTransfer.files);
  });
  document.addEventListener("paste", (e) => takeFiles(e.clipboardData.files));
  for (const id of ["target-a", "target-b", "top-k"]) {
    $(id).addEventListener("change", () => page.files.length && classify());
  }
  $("card-version").addEventListener("change", (e) => loadCard(e.target.value));
}

function start() {
  wire();
  const m = location.pathname.match(/^\/ui\/models\/([^/]+)$/);
  if (m) openModel(decodeURIComponent(m[1]));
  showServer();
  refreshModels();
  refreshServingNow();
  setInterval(refreshModels, REFRESH_MS);
  setInterval(refreshServingNow, REFRESH_MS);
}

start();
