// The dog-photo page: pick or drop a photo, see it, see the top breeds.
//
// The API URL is a setting, never written here: the page's ?api= query parameter, or
// {"apiUrl": "..."} in a config.json beside the page. Photos are shrunk in the browser (long
// side at most MAX_SIDE px, JPEG) before upload, so a phone photo never meets a payload limit;
// a file the browser cannot read as an image is sent as it is, and the API's answer shown.
// An API in front of an asynchronous endpoint answers 202 with an inference_id: the page then
// asks GET <api>/<inference_id> until the answer is done or failed.
"use strict";

const MAX_SIDE = 512;
const JPEG_QUALITY = 0.9;
const TOP_K = 5;
// Polling an asynchronous request: every second for the first half minute, then every five
// seconds, for at most twenty minutes (SageMaker gives a request 15 minutes by default, and
// an endpoint scaled to zero takes minutes to start an instance).
const POLL_FAST_MS = 1000;
const POLL_SLOW_MS = 5000;
const POLL_FAST_FOR_MS = 30000;
const POLL_LIMIT_MS = 20 * 60 * 1000;
// Answers worth asking again: throttled, or the API or the endpoint briefly unavailable.
const RETRYABLE = new Set([429, 502, 503, 504]);

const $ = (id) => document.getElementById(id);

async function apiUrl() {
  const fromQuery = new URLSearchParams(window.location.search).get("api");
  if (fromQuery) {
    return fromQuery;
  }
  try {
    const answer = await fetch("config.json", { cache: "no-store" });
    if (answer.ok) {
      const config = await answer.json();
      if (config.apiUrl) {
        return config.apiUrl;
      }
    }
  } catch (error) {
    // no config.json: fall through to the message below
  }
  return null;
}

// The photo as JPEG with its long side at most MAX_SIDE px, or null when the browser cannot
// decode it (then the original bytes go to the API, which names the problem).
async function shrink(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (error) {
    return null;
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  // JPEG has no transparency: a cut-out photo goes on white, as the endpoint composites it.
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  return { blob, width: canvas.width, height: canvas.height };
}

function showStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "status error" : "status";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function jsonOf(answer) {
  try {
    return await answer.json();
  } catch (error) {
    return null;
  }
}

function errorText(answer, payload) {
  return payload && payload.error ? payload.error.message : `HTTP ${answer.status}`;
}

// The status of a queued request, asked until it is done or failed: its predictions, or an
// Error whose message is the reason.
async function awaitAnswer(api, inferenceId) {
  const started = Date.now();
  const url = `${api.replace(/\/+$/, "")}/${encodeURIComponent(inferenceId)}`;
  for (;;) {
    const waited = Date.now() - started;
    if (waited > POLL_LIMIT_MS) {
      throw new Error(`No answer after ${Math.round(waited / 60000)} minutes; try again later`);
    }
    await sleep(waited < POLL_FAST_FOR_MS ? POLL_FAST_MS : POLL_SLOW_MS);
    let answer;
    try {
      answer = await fetch(url, { cache: "no-store" });
    } catch (error) {
      continue; // the network dropped for a moment: ask again
    }
    const payload = await jsonOf(answer);
    if (RETRYABLE.has(answer.status)) {
      continue;
    }
    if (!answer.ok) {
      throw new Error(errorText(answer, payload));
    }
    if (!payload || typeof payload.status !== "string") {
      throw new Error(`The status answer is not the classifier's JSON (HTTP ${answer.status})`);
    }
    if (payload.status === "done") {
      return payload.predictions;
    }
    if (payload.status === "failed") {
      const reason = payload.error && payload.error.message;
      throw new Error(reason || "The classifier could not answer this photo");
    }
    showStatus(`Queued; waiting for the answer (${Math.round((Date.now() - started) / 1000)} s)…`);
  }
}

function showBreeds(predictions) {
  const list = $("breeds");
  list.replaceChildren();
  for (const prediction of predictions.slice(0, TOP_K)) {
    const percent = Math.round(prediction.probability * 1000) / 10;
    const item = document.createElement("li");
    const name = document.createElement("div");
    name.className = "breed-name";
    const breed = document.createElement("span");
    breed.textContent = prediction.breed;
    const value = document.createElement("span");
    value.textContent = `${percent}%`;
    name.append(breed, value);
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-label", `${prediction.breed}: ${percent}%`);
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", String(percent));
    const fill = document.createElement("span");
    fill.style.width = `${percent}%`;
    bar.append(fill);
    item.append(name, bar);
    list.append(item);
  }
}

async function classify(file, api) {
  $("breeds").replaceChildren();
  $("result").setAttribute("aria-busy", "true");
  showStatus("Looking at the photo…");
  $("preview-box").hidden = true;
  const shrunk = await shrink(file);
  // Shown only when the browser could decode it: otherwise a broken-image icon.
  if (shrunk) {
    const preview = $("preview");
    preview.src = URL.createObjectURL(file);
    preview.alt = `Your photo: ${file.name}`;
    $("preview-box").hidden = false;
  }
  const body = shrunk ? shrunk.blob : file;
  const type = shrunk ? "image/jpeg" : file.type || "application/octet-stream";
  $("preview-caption").textContent = shrunk
    ? `${file.name}, sent as ${shrunk.width}×${shrunk.height} JPEG (${Math.round(body.size / 1024)} kB)`
    : `${file.name}, sent as it is`;
  try {
    const answer = await fetch(api, {
      method: "POST",
      headers: { "Content-Type": type },
      body: await body.arrayBuffer(),
    });
    const payload = await jsonOf(answer);
    if (!answer.ok) {
      showStatus(errorText(answer, payload), true);
      return;
    }
    let predictions = payload.predictions;
    if (answer.status === 202) {
      showStatus("Queued; waiting for the answer…");
      try {
        predictions = await awaitAnswer(api, payload.inference_id);
      } catch (error) {
        showStatus(error.message, true);
        return;
      }
    }
    showBreeds(predictions);
    showStatus(`Top ${Math.min(TOP_K, predictions.length)} breeds`);
  } catch (error) {
    showStatus(`Could not reach the classifier at ${api}: ${error.message}`, true);
  } finally {
    $("result").setAttribute("aria-busy", "false");
  }
}

async function main() {
  const api = await apiUrl();
  if (!api) {
    const problem = $("config-error");
    problem.textContent =
      'No API URL: open this page with ?api=https://…/classify, or put {"apiUrl": "…"} in config.json beside it.';
    problem.hidden = false;
    $("photo").disabled = true;
    return;
  }
  const input = $("photo");
  const drop = $("drop");
  input.addEventListener("change", () => {
    if (input.files.length) {
      classify(input.files[0], api);
    }
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      input.click();
    }
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    if (event.dataTransfer.files.length) {
      classify(event.dataTransfer.files[0], api);
    }
  });
  document.body.dataset.ready = "true"; // the page answers input from here on
}

main();
