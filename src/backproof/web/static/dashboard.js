// backproof dashboard: local times, and the "Back up now" / "Verify now" buttons.
// Served from /static (the CSP allows no inline script); no library, no build step.
"use strict";

const POLL_MS = 1000;
const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function showLocalTimes(root) {
  for (const element of root.querySelectorAll("time[datetime]")) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) continue;
    element.title = moment.toISOString().replace("T", " ").slice(0, 16) + " UTC";
    element.textContent = timeFormat.format(moment);
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function formatSeconds(seconds) {
  if (seconds < 60) return seconds.toFixed(0) + " s";
  return Math.floor(seconds / 60) + " min " + String(Math.round(seconds % 60)).padStart(2, "0") + " s";
}

function describe(action) {
  if (action.state === "queued") return action.job + " queued…";
  if (action.state === "running") {
    const job = action.progress;
    let text = action.job + " running";
    if (job && job.elapsed_seconds !== null) text += " for " + formatSeconds(job.elapsed_seconds);
    if (job && job.progress_ratio !== null) text += ", about " + Math.round(job.progress_ratio * 100) + " %";
    return text + "…";
  }
  const outcome = action.activity_status || "finished";
  return action.job + " " + outcome + (action.message ? ": " + action.message : "");
}

async function follow(actionId, output, button) {
  const response = await fetch("/api/actions/" + encodeURIComponent(actionId), {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) {
    output.textContent = "could not follow the action (HTTP " + response.status + ")";
    button.disabled = false;
    return;
  }
  const action = await response.json();
  output.textContent = describe(action);
  output.dataset.state = action.state;
  output.dataset.outcome = action.activity_status || "";
  if (action.state === "finished") {
    output.className = "action-status " + (action.activity_status === "success" ? "s-ok-text" : "error");
    button.disabled = false;
    return;
  }
  setTimeout(() => follow(actionId, output, button), POLL_MS);
}

async function submitAction(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  const output = form.querySelector("output");
  button.disabled = true;
  output.className = "action-status";
  output.textContent = "asking…";
  const response = await fetch(form.action, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    credentials: "same-origin",
  });
  if (response.status !== 202) {
    const body = await response.json().catch(() => ({}));
    output.className = "action-status error";
    output.textContent = "refused (HTTP " + response.status + ")" + (body.detail ? ": " + body.detail : "");
    button.disabled = false;
    return;
  }
  const action = await response.json();
  output.textContent = describe(action);
  output.dataset.state = action.state;
  follow(action.id, output, button);
}

const RUNNING_POLL_MS = 3000;

function formatBytes(size) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let index = 0;
  while (size >= 1000 && index < units.length - 1) {
    size /= 1000;
    index += 1;
  }
  return (index === 0 ? String(size) : size.toFixed(1)) + " " + units[index];
}

function runningItem(job) {
  const item = document.createElement("li");
  const badge = document.createElement("span");
  badge.className = "badge s-" + job.state;
  badge.textContent = job.state;
  item.append(badge, " " + job.job);
  if (job.target) {
    const link = document.createElement("a");
    link.href = "/targets/" + encodeURIComponent(job.target);
    link.textContent = job.target;
    item.append(" of ", link);
  }
  if (job.state === "running" && job.elapsed_seconds !== null) {
    item.append(" · for " + formatSeconds(job.elapsed_seconds));
  }
  if (job.progress_ratio !== null) {
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = job.progress_ratio;
    bar.setAttribute("aria-label", "estimated progress of the " + job.job);
    item.append(" ", bar, " about " + Math.round(job.progress_ratio * 100) + " % of the last run");
  }
  if (job.bytes_done) item.append(" · " + formatBytes(job.bytes_done) + " written");
  return item;
}

async function refreshRunning(section) {
  if (document.visibilityState === "visible") {
    const response = await fetch(section.dataset.running, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) {
      const jobs = await response.json();
      section.querySelector("ul.running").replaceChildren(...jobs.map(runningItem));
      section.hidden = jobs.length === 0;
    }
  }
  setTimeout(() => refreshRunning(section), RUNNING_POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const section of document.querySelectorAll("[data-running]")) {
    setTimeout(() => refreshRunning(section), RUNNING_POLL_MS);
  }
  showLocalTimes(document);
  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", submitAction);
  }
});
