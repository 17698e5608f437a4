// The playground: builds a transformation from the controls (and the
// controls from a typed transformation), loads the original and the result
// through this service, and shows their sizes, formats, bytes and the
// result's Server-Timing. No framework, no build step, no external resource.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  // The controls that write one token each, in the order they are written.
  // `read` gives the token's value ("" = no token); `write` sets the control
  // from a value read in a typed transformation.
  const CONTROLS = [
    { key: "w", read: () => $("w").value.trim(), write: (v) => { $("w").value = v; } },
    { key: "h", read: () => $("h").value.trim(), write: (v) => { $("h").value = v; } },
    { key: "c", read: () => $("c").value, write: (v) => setSelect("c", v) },
    { key: "g", read: () => $("g").value, write: (v) => setSelect("g", v) },
    { key: "f", read: () => $("f").value, write: (v) => setSelect("f", v === "jpeg" ? "jpg" : v) },
    {
      key: "q",
      read: () => ($("q-auto").checked ? "auto" : $("q").value === "0" ? "" : $("q").value),
      write: (v) => {
        $("q-auto").checked = v === "auto";
        $("q").value = v === "auto" || v === "" ? "0" : v;
      },
    },
    { key: "dpr", read: () => $("dpr").value, write: (v) => setSelect("dpr", v) },
    {
      key: "b",
      read: () => ($("b-set").checked ? "rgb:" + $("b").value.slice(1) : ""),
      write: (v) => {
        const hex = /^rgb:([0-9a-fA-F]{6})$/.exec(v);
        $("b-set").checked = v !== "";
        if (hex) $("b").value = "#" + hex[1].toLowerCase();
        else if (v === "white") $("b").value = "#ffffff";
        else if (v === "black") $("b").value = "#000000";
      },
    },
    { key: "e_grayscale", flag: true, read: () => ($("e_grayscale").checked ? "1" : ""), write: (v) => { $("e_grayscale").checked = v !== ""; } },
    { key: "e_blur", effect: true, read: () => ($("e_blur").value === "0" ? "" : $("e_blur").value), write: (v) => { $("e_blur").value = v === "" ? "0" : v === "1" ? "100" : v; } },
    { key: "e_sharpen", effect: true, read: () => ($("e_sharpen").value === "0" ? "" : $("e_sharpen").value), write: (v) => { $("e_sharpen").value = v === "" ? "0" : v === "1" ? "100" : v; } },
  ];

  const state = {
    settings: { signed: false, remote_urls: true, samples: [] },
    // Tokens typed by hand that no control writes: kept as written.
    extra: [],
    // The Accept header of an <img> in this browser, as far as it matters
    // for f_auto: the formats it was seen to decode.
    accept: "*/*",
    autoFormat: "jpeg or png",
    generation: 0,
    objectUrls: {},
  };

  function setSelect(id, value) {
    const select = $(id);
    if (![...select.options].some((o) => o.value === value)) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.appendChild(option);
    }
    select.value = value;
  }

  function token(control) {
    const value = control.read();
    if (value === "") return "";
    if (control.flag) return control.key;
    if (control.effect) return control.key + ":" + value;
    return control.key + "_" + value;
  }

  function transformation() {
    return CONTROLS.map(token).filter(Boolean).concat(state.extra).join(",");
  }

  // Reads a typed transformation into the controls; tokens no control
  // writes are kept as they are.
  function applyTransformation(text) {
    const seen = new Map();
    const extra = [];
    for (const raw of text.split(",").map((t) => t.trim()).filter(Boolean)) {
      const control = CONTROLS.find((c) =>
        c.flag || c.effect ? raw === c.key || raw.startsWith(c.key + ":") : raw.startsWith(c.key + "_") && !raw.startsWith("e_"));
      if (!control || seen.has(control.key)) { extra.push(raw); continue; }
      let value;
      if (control.flag) value = raw === control.key ? "1" : null;
      else if (control.effect) value = raw === control.key ? "1" : raw.slice(control.key.length + 1);
      else value = raw.slice(control.key.length + 1);
      if (value === null) { extra.push(raw); continue; }
      seen.set(control.key, value);
    }
    for (const control of CONTROLS) control.write(seen.get(control.key) || "");
    state.extra = extra;
    showValues();
  }

  function sourcePath() {
    const url = $("source-url").value.trim();
    if (url) return { query: "?url=" + encodeURIComponent(url), path: "" };
    return { query: "", path: "/" + $("sample").value };
  }

  // The image path of a transformation: `/{t}/playground/...`, `/{t}?url=...`.
  function imagePath(t) {
    const source = sourcePath();
    if (source.path) return (t ? "/" + t : "") + source.path;
    return "/" + t + source.query;
  }

  function infoPath(t) {
    return "/info" + (imagePath(t).startsWith("/?") ? imagePath(t).slice(1) : imagePath(t));
  }

  function showValues() {
    $("q-value").textContent = $("q-auto").checked ? "auto" : $("q").value === "0" ? "80 (default)" : $("q").value;
    $("e_blur-value").textContent = $("e_blur").value === "0" ? "off" : $("e_blur").value;
    $("e_sharpen-value").textContent = $("e_sharpen").value === "0" ? "off" : $("e_sharpen").value;
  }

  function clearErrors() {
    for (const element of document.querySelectorAll(".error")) { element.hidden = true; element.textContent = ""; }
  }

  // Shows the service's message next to the control that caused it: the
  // control whose token the message names, else the source (for errors
  // about the source), else the transformation field.
  function showError(status, body) {
    const error = (body && body.error) || { status, code: "error", message: "the service answered " + status };
    let target = "error-transformation";
    const message = error.message || "";
    const named = CONTROLS.filter((c) => message.includes("`" + c.key + "_") || message.includes("`" + c.key + ":") || message.includes("`" + c.key + "`"));
    if (named.length > 0) target = "error-" + named[0].key;
    else if (/source|url|remote|host|address|origin|object|mount|signature|not supported|too large/i.test(error.code + " " + message) && !/token/.test(message)) target = "error-source";
    const element = $(target);
    element.textContent = error.status + " " + error.code + ": " + message;
    element.hidden = false;
    return element;
  }

  function formatBytes(n) {
    if (n === null || n === undefined || Number.isNaN(n)) return "–";
    if (n < 1024) return n + " B";
    return (n / 1024).toFixed(1) + " kB (" + n.toLocaleString("en") + " B)";
  }

  function parseServerTiming(value) {
    return (value || "").split(",").map((entry) => entry.trim()).filter(Boolean).map((entry) => {
      const [name, ...params] = entry.split(";");
      const timing = { name: name.trim(), duration: null, description: "" };
      for (const param of params) {
        const [k, v] = param.split("=");
        if (k.trim() === "dur") timing.duration = Number(v);
        if (k.trim() === "desc") timing.description = (v || "").replace(/^"|"$/g, "");
      }
      return timing;
    });
  }

  function fill(panelId, fields) {
    for (const [field, text] of Object.entries(fields)) {
      const element = document.querySelector("#" + panelId + " [data-field=" + field + "]");
      if (element && field !== "timing") element.textContent = text;
    }
  }

  async function loadImage(imgId, url, accept) {
    const response = await fetch(url, { headers: { Accept: accept }, cache: "no-cache" });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      return { ok: false, status: response.status, body };
    }
    const blob = await response.blob();
    const img = $(imgId);
    const loaded = new Promise((resolve, reject) => {
      img.onload = resolve;
      img.onerror = () => reject(new Error("the browser cannot show this " + (blob.type || "image")));
    });
    if (state.objectUrls[imgId]) URL.revokeObjectURL(state.objectUrls[imgId]);
    state.objectUrls[imgId] = URL.createObjectURL(blob);
    img.src = state.objectUrls[imgId];
    try { await loaded; } catch (e) { return { ok: false, status: 0, body: { error: { status: 0, code: "not_shown", message: e.message } } }; }
    return { ok: true, response, blob, img };
  }

  function formatName(contentType) {
    const type = (contentType || "").split(";")[0].trim();
    return type.startsWith("image/") ? type.slice(6) : type || "–";
  }

  async function refreshOriginal(generation) {
    const info = await fetch(infoPath(""), { cache: "no-cache" });
    // A newer source or transformation was asked for meanwhile: the next
    // update shows this source again if it is still the one.
    if (generation !== state.generation) { sourceShown = null; return; }
    if (!info.ok) {
      let body = null;
      try { body = await info.json(); } catch (_) { /* not JSON */ }
      showError(info.status, body);
      fill("original-info", { dimensions: "–", format: "–", bytes: "–" });
      $("original").removeAttribute("src");
      return;
    }
    const doc = await info.json();
    fill("original-info", {
      dimensions: doc.input.width + " × " + doc.input.height + (doc.input.orientation > 1 ? " (EXIF orientation " + doc.input.orientation + ")" : ""),
      format: doc.input.format + (doc.input.alpha ? ", alpha" : "") + (doc.input.colour_profile ? ", " + (doc.input.colour_profile_name || "ICC profile") : "") + (doc.input.animated ? ", animated" : ""),
      bytes: formatBytes(doc.input.bytes),
    });
    // The source as the service re-encodes it (what a browser can show).
    await loadImage("original", imagePath(""), state.accept);
  }

  async function refreshResult(generation) {
    const t = transformation();
    const path = imagePath(t);
    $("status").textContent = "loading…";
    const result = await loadImage("result", path, state.accept);
    if (generation !== state.generation) return;
    if (!result.ok) {
      $("status").textContent = "error";
      $("result").removeAttribute("src");
      fill("result-info", { dimensions: "–", format: "–", bytes: "–" });
      $("timings").replaceChildren();
      showError(result.status, result.body);
      return;
    }
    const { response, blob, img } = result;
    fill("result-info", {
      dimensions: img.naturalWidth + " × " + img.naturalHeight,
      format: formatName(response.headers.get("content-type")),
      bytes: formatBytes(blob.size),
    });
    const list = $("timings");
    list.replaceChildren();
    for (const timing of parseServerTiming(response.headers.get("server-timing"))) {
      const item = document.createElement("li");
      item.dataset.stage = timing.name;
      item.textContent = timing.name + (timing.duration !== null ? " " + timing.duration.toFixed(1) + " ms" : "") + (timing.description ? " (" + timing.description + ")" : "");
      list.appendChild(item);
    }
    $("status").textContent = "done";
    document.body.dataset.state = "ready";
  }

  let sourceShown = null;
  let timer = null;

  function update(fromText) {
    showValues();
    const t = fromText ? $("transformation").value.trim() : transformation();
    if (fromText) applyTransformation(t);
    else $("transformation").value = t;
    const path = imagePath(transformation());
    $("url").value = location.origin + path;
    $("sign-command").textContent = "resizer sign --key \"$RESIZER_SIGNING_KEY\" '" + path + "'";
    clearTimeout(timer);
    document.body.dataset.state = "loading";
    // Loads still in flight for an older state are ignored from now on.
    const generation = ++state.generation;
    timer = setTimeout(() => {
      if (generation !== state.generation) return;
      clearErrors();
      const source = sourcePath();
      const key = source.path + source.query;
      if (key !== sourceShown) { sourceShown = key; refreshOriginal(generation); }
      refreshResult(generation);
    }, 250);
  }

  // What f_auto picks here: AVIF, else WebP, if this browser decodes them
  // (tried on a one-pixel image of each made by this service), else JPEG,
  // or PNG for an image with transparency.
  function detectFormats() {
    const probe = (format) => new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve(img.naturalWidth === 1);
      img.onerror = () => resolve(false);
      img.src = "/w_1,h_1,f_" + format + "/" + state.settings.samples[0];
    });
    return Promise.all([probe("avif"), probe("webp")]).then(([avif, webp]) => {
      const accepted = [];
      if (avif) accepted.push("image/avif");
      if (webp) accepted.push("image/webp");
      state.accept = accepted.concat(["image/*", "*/*;q=0.8"]).join(",");
      state.autoFormat = avif ? "AVIF" : webp ? "WebP" : "JPEG (PNG with transparency)";
      $("auto-hint").textContent = "f_auto picks " + state.autoFormat + " for this browser.";
    });
  }

  async function start() {
    try {
      const response = await fetch("/playground/settings.json", { cache: "no-store" });
      state.settings = await response.json();
    } catch (_) { /* keep the defaults */ }
    const select = $("sample");
    for (const sample of state.settings.samples) {
      const option = document.createElement("option");
      option.value = sample;
      option.textContent = sample.split("/").pop();
      select.appendChild(option);
    }
    if (state.settings.signed) $("signed-notice").hidden = false;
    if (!state.settings.remote_urls) {
      $("source-url").disabled = true;
      $("source-url").placeholder = "?url= sources are off on this service";
    }
    // A first transformation that shows what the service does.
    applyTransformation("w_400,h_300,c_fill,g_auto,f_auto");
    await detectFormats();
    for (const element of document.querySelectorAll("#controls input, #controls select")) {
      if (element.id === "transformation" || element.id === "url") continue;
      element.addEventListener("input", () => update(false));
      element.addEventListener("change", () => update(false));
    }
    $("transformation").addEventListener("input", () => update(true));
    $("copy").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText($("url").value);
        $("copy-status").textContent = "Copied.";
      } catch (_) {
        $("url").select();
        $("copy-status").textContent = "Selected: press Ctrl+C (⌘C) to copy.";
      }
    });
    $("controls").addEventListener("submit", (event) => event.preventDefault());
    update(false);
  }

  start();
})();
