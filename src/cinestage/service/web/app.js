// The cinestage web app: sign in, upload a reference clip and a performance, start a shoot,
// watch it progress, then see every camera with its scores, the chosen camera, the programme,
// the highlights, the report and every file to download. It only speaks the /v1 API.

const TOKEN = "cinestage.token";
const STATUS = ["queued", "running", "done", "failed", "cancelled"];
const PAGE = 10;
const view = document.getElementById("view");
let timer = null;

// Media elements (<video>, <img>, report links) cannot send an Authorization header: the API
// also accepts the token from this same-site cookie.
function setToken(token) {
  if (token) {
    localStorage.setItem(TOKEN, token);
    document.cookie = `cinestage_token=${encodeURIComponent(token)}; path=/; SameSite=Strict`;
  } else {
    localStorage.removeItem(TOKEN);
    document.cookie = "cinestage_token=; path=/; max-age=0; SameSite=Strict";
  }
}

async function api(path, { method = "GET", json, form, token } = {}) {
  const headers = {};
  const auth = token || localStorage.getItem(TOKEN);
  if (auth) headers.Authorization = `Bearer ${auth}`;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form) body = form;
  const res = await fetch(path, { method, headers, body });
  let doc = null;
  try { doc = await res.json(); } catch { /* a non-JSON body: reported below by status */ }
  if (res.status === 401 && !token) { setToken(null); location.hash = "#/signin"; }
  if (!res.ok || !doc || doc.code !== 0) throw new Error(doc?.message || `${method} ${path}: HTTP ${res.status}`);
  return doc.data;
}

// Uploads go through XMLHttpRequest: fetch cannot report upload progress.
function upload(file, kind, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file);
    form.append("kind", kind);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/videos");
    xhr.setRequestHeader("Authorization", `Bearer ${localStorage.getItem(TOKEN)}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(100 * e.loaded / e.total);
    xhr.onload = () => {
      let doc = null;
      try { doc = JSON.parse(xhr.responseText); } catch { /* reported below */ }
      if (xhr.status < 300 && doc && doc.code === 0) resolve(doc.data);
      else reject(new Error(doc?.message || `${file.name}: upload failed (HTTP ${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error(`${file.name}: upload failed (network)`));
    xhr.send(form);
  });
}

function show(templateId) {
  view.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const fileUrl = (taskId, path) => `/v1/tasks/${taskId}/files/${path.split("/").map(encodeURIComponent).join("/")}`;
const when = (t) => (t ? new Date(t + "Z").toLocaleString() : "");
const fmt = (x) => (typeof x === "number" ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3)) : String(x ?? "—"));

// --- sign in -----------------------------------------------------------------------------

function signIn() {
  document.getElementById("nav").hidden = true;
  show("signin");
  const error = document.getElementById("signin-error");
  document.getElementById("signup-form").onsubmit = async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const user = await api("/v1/users", { method: "POST", json: { name: e.target.name.value.trim() } });
      setToken(user.token);
      const card = document.getElementById("signin-card");
      card.replaceChildren(
        el("h1", { textContent: `Welcome, ${user.name}` }),
        el("p", { textContent: "Your access token (shown once; keep it to sign in elsewhere):" }),
        el("input", { value: user.token, readOnly: true, id: "new-token" }),
        el("p", {}, el("button", { textContent: "Continue", id: "continue", onclick: () => { location.hash = "#/"; } })),
      );
    } catch (err) { error.textContent = err.message; }
  };
  document.getElementById("token-form").onsubmit = async (e) => {
    e.preventDefault();
    error.textContent = "";
    const token = e.target.token.value.trim();
    try {
      await api("/v1/users/me", { token });
      setToken(token);
      location.hash = "#/";
    } catch (err) { error.textContent = err.message; }
  };
}

// --- home: new shoot + task list -----------------------------------------------------------

async function home() {
  show("home");
  await fillUploads();
  const form = document.getElementById("shoot-form");
  const error = document.getElementById("shoot-error");
  const bar = document.getElementById("upload-progress");
  const start = async (taskType) => {
    error.textContent = "";
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const send = async (file, kind) => {
        bar.hidden = false;
        const video = await upload(file, kind, (p) => { bar.value = p; });
        bar.hidden = true;
        return video.vid;
      };
      let vid = form.vid.value || null;
      let performanceVid = form.performance_vid.value || null;
      if (taskType === "shoot") {
        if (form.clip.files.length) vid = await send(form.clip.files[0], "clip");
        if (!vid) throw new Error("choose or upload a reference clip (or shoot the demo)");
      }
      for (const f of form.motions.files) await send(f, "motion");
      if (form.performance.files.length) performanceVid = await send(form.performance.files[0], "performance");
      const task = await api("/v1/tasks", {
        method: "POST",
        json: {
          task_type: taskType,
          vid: taskType === "shoot" ? vid : null,
          performance_vid: performanceVid,
          camera_parameter: {
            duration: Number(form.duration.value), width: Number(form.width.value), height: Number(form.height.value),
          },
        },
      });
      location.hash = `#/task/${task.task_id}`;
    } catch (err) {
      error.textContent = err.message;
      bar.hidden = true;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  form.onsubmit = (e) => { e.preventDefault(); start("shoot"); };
  document.getElementById("start-demo").onclick = () => start("demo");
  let offset = 0;
  const refresh = async () => {
    const page = await api(`/v1/tasks?all=1&offset=${offset}&limit=${PAGE}`);
    const rows = document.getElementById("task-rows");
    if (!rows) return;
    rows.replaceChildren(...page.tasks.map((t) => el("tr", {},
      el("td", {}, el("a", { href: `#/task/${t.task_id}`, textContent: t.task_id.slice(0, 8) })),
      el("td", { textContent: t.task_type }),
      el("td", { className: `status-${t.status}`, textContent: STATUS[t.status] ?? t.status }),
      el("td", {}, el("progress", { max: 100, value: t.progress })),
      el("td", { textContent: when(t.created_time) }),
    )));
    if (!page.tasks.length) rows.append(el("tr", {}, el("td", { colSpan: 5, className: "muted", textContent: "No shoots yet." })));
    document.getElementById("page-info").textContent =
      page.total ? `${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total}` : "";
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + PAGE >= page.total;
    if (page.tasks.some((t) => t.status < 2)) timer = setTimeout(refresh, 2000);
  };
  document.getElementById("prev").onclick = () => { offset = Math.max(0, offset - PAGE); clearTimeout(timer); refresh(); };
  document.getElementById("next").onclick = () => { offset += PAGE; clearTimeout(timer); refresh(); };
  await refresh();
}

async function fillUploads() {
  const page = await api("/v1/videos?offset=0&limit=100");
  const clips = document.getElementById("clip-select");
  const performances = document.getElementById("performance-select");
  const clipItems = page.videos.filter((v) => v.kind === "clip");
  clips.replaceChildren(el("option", { value: "", textContent: clipItems.length ? "choose an uploaded clip" : "no clip uploaded yet" }),
    ...clipItems.map((v) => el("option", { value: v.vid, textContent: `${v.filename} (${v.duration.toFixed(1)} s)` })));
  performances.append(...page.videos.filter((v) => v.kind === "performance")
    .map((v) => el("option", { value: v.vid, textContent: v.filename })));
}

// --- one task: progress, then the result -----------------------------------------------------

async function taskPage(taskId) {
  show("task");
  const poll = async () => {
    let task;
    try { task = await api(`/v1/tasks/${taskId}`); } catch (err) {
      document.getElementById("task-error").textContent = err.message;
      return;
    }
    document.getElementById("task-title").textContent = `Shoot ${taskId.slice(0, 8)} (${task.task_type})`;
    document.getElementById("task-status").textContent =
      `${STATUS[task.status] ?? task.status} · ${task.progress.toFixed(0)} %` +
      (task.start_time ? ` · started ${when(task.start_time)}` : "") + (task.end_time ? ` · ended ${when(task.end_time)}` : "");
    document.getElementById("task-status").className = `status-${task.status}`;
    document.getElementById("task-progress").value = task.progress;
    if (task.status === 3) document.getElementById("task-error").textContent = task.results.error || "the shoot failed";
    if (task.status === 2) await result(taskId);
    else if (task.status < 2) timer = setTimeout(poll, 1000);
  };
  await poll();
}

async function json(taskId, path) {
  const res = await fetch(fileUrl(taskId, path), { headers: { Authorization: `Bearer ${localStorage.getItem(TOKEN)}` } });
  return res.ok ? res.json() : null;
}

async function result(taskId) {
  const files = await api(`/v1/tasks/${taskId}/files`);
  const has = new Set(files);
  const scores = has.has("scores.json") ? await json(taskId, "scores.json") : null;
  document.getElementById("result").hidden = false;
  if (scores) {
    document.getElementById("chosen-reason").textContent = `${scores.best.camera}: ${scores.best.reason}`;
  }
  document.getElementById("best-video").src = fileUrl(taskId, "best.mp4");
  document.getElementById("programme-video").src = fileUrl(taskId, "programme.mp4");
  const grid = document.getElementById("camera-grid");
  const cameras = scores ? scores.cameras : files.filter((f) => /^cameras\/[^/]+\.mp4$/.test(f))
    .map((f) => ({ camera: f.slice(8, -4), components: [] }));
  grid.replaceChildren(...cameras.map((c) => {
    const measures = c.components.filter((m) => m.weight > 0).slice(0, 6);
    return el("article", { className: `camera${scores && c.camera === scores.best.camera ? " best" : ""}` },
      el("video", { src: fileUrl(taskId, `cameras/${c.camera}.mp4`), controls: true, playsInline: true, preload: "metadata", muted: true }),
      el("h3", {}, el("span", { textContent: c.camera }), el("span", { textContent: c.fused ? fmt(c.fused.value) : "" })),
      el("dl", {}, ...measures.flatMap((m) => [el("dt", { textContent: m.name }), el("dd", { textContent: fmt(m.measure.value) })])),
    );
  }));
  const gifs = files.filter((f) => f.endsWith(".gif"));
  const gifGrid = document.getElementById("gif-grid");
  gifGrid.replaceChildren(...gifs.map((g) => el("figure", {}, el("img", { src: fileUrl(taskId, g), alt: g, loading: "lazy" }),
    el("figcaption", { textContent: g.split("/").pop() }))));
  if (!gifs.length) gifGrid.append(el("p", { className: "muted", textContent: "No highlights in this shoot." }));
  const report = document.getElementById("report-link");
  if (has.has("report.html")) report.href = fileUrl(taskId, "report.html");
  else report.replaceWith(el("span", { className: "muted", textContent: "No report in this shoot." }));
  const link = (f) => el("li", {}, el("a", { href: fileUrl(taskId, f), download: f.split("/").pop(), textContent: f }));
  const perCamera = files.filter((f) => f.startsWith("cameras/"));
  document.getElementById("file-list").replaceChildren(...files.filter((f) => !f.startsWith("cameras/")).map(link));
  document.getElementById("camera-files").replaceChildren(
    el("summary", { textContent: `Every camera's video, track (JSON, CSV, glTF), metadata and scores (${perCamera.length} files)` }),
    el("ul", { className: "files" }, ...perCamera.map(link)));
}

// --- routing ---------------------------------------------------------------------------------

async function route() {
  clearTimeout(timer);
  const hash = location.hash || "#/";
  if (!localStorage.getItem(TOKEN) || hash === "#/signin") return signIn();
  const nav = document.getElementById("nav");
  nav.hidden = false;
  try {
    const me = await api("/v1/users/me");
    document.getElementById("who").textContent = me.name;
    const task = hash.match(/^#\/task\/([0-9a-f]+)$/);
    if (task) await taskPage(task[1]);
    else await home();
  } catch (err) {
    view.replaceChildren(el("section", { className: "card" }, el("p", { className: "error", textContent: err.message })));
  }
}

document.getElementById("signout").onclick = () => { setToken(null); location.hash = "#/signin"; };
window.addEventListener("hashchange", route);
route();
