// Renders expanded cards with the official adaptivecards JS renderer in headless Chromium,
// styled by the Microsoft Teams host config from adaptivecards-designer, in ONE browser process.
// stdin:  {"cards": [{"name", "card"}], "outDir": "docs/cards" (optional: write NAME.png),
//          "chromium": "/usr/bin/chromium" (optional), "theme": "light" | "dark" (optional)}
// stdout: {"results": [{"name", "errors", "warnings", "width", "height", "text", "links", "tags",
//          "png"}]}
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const theme = request.theme || "light";

function modulePath(spec) {
  return require.resolve(spec);
}

function pageHtml(cards) {
  const acJs = fs.readFileSync(modulePath("adaptivecards/dist/adaptivecards.min.js"), "utf8");
  const mdJs = fs.readFileSync(modulePath("markdown-it/dist/markdown-it.min.js"), "utf8");
  const hostConfigFile = path.join(
    path.dirname(modulePath("adaptivecards-designer/package.json")),
    "lib", "hostConfigs", `microsoft-teams-${theme}.json`);
  const hostConfig = fs.readFileSync(hostConfigFile, "utf8");
  const background = theme === "dark" ? "#1f1f1f" : "#f5f5f5";
  const cardBackground = theme === "dark" ? "#292929" : "#ffffff";
  // "</script" inside data would end the script element: escape the slash.
  const data = JSON.stringify(cards).replace(/<\//g, "<\\/");
  return `<!doctype html><html><head><meta charset="utf-8">
<style>
  body { margin: 0; padding: 16px; background: ${background};
         font-family: "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif; }
  .frame { background: ${cardBackground}; border-radius: 6px; margin: 0 0 24px 0;
           box-shadow: 0 1px 3px rgba(0,0,0,.15); overflow: hidden; }
  .frame.narrow { width: 460px; } .frame.full { width: 760px; }
  /* Teams draws its own buttons; this is close enough for a preview. */
  .ac-pushButton { border: 1px solid #c8c6c4; background: #fff; border-radius: 4px;
                   padding: 5px 12px; font: 600 14px "Segoe UI", "Liberation Sans", sans-serif; }
  .ac-pushButton.style-positive { background: #5b5fc7; border-color: #5b5fc7; color: #fff; }
  .ac-pushButton.style-destructive { color: #c4314b; }
</style>
<script>${mdJs}</script>
<script>${acJs}</script>
</head><body><div id="cards"></div>
<script>
const logged = [];
for (const level of ["warn", "error"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => { logged.push({ level, text: args.map(String).join(" ") }); original(...args); };
}
window.addEventListener("error", (e) => logged.push({ level: "error", text: String(e.message) }));
window.renderAll = function () {
  const cards = ${data};
  const hostConfig = new AdaptiveCards.HostConfig(${hostConfig});
  const out = [];
  cards.forEach((item, index) => {
    const before = logged.length;
    const errors = [], warnings = [];
    const frame = document.createElement("div");
    const full = item.card && item.card.msteams && item.card.msteams.width === "Full";
    frame.className = "frame " + (full ? "full" : "narrow");
    frame.id = "card-" + index;
    document.getElementById("cards").appendChild(frame);
    try {
      const card = new AdaptiveCards.AdaptiveCard();
      card.hostConfig = hostConfig;
      const context = new AdaptiveCards.SerializationContext(new AdaptiveCards.Version(1, 5));
      card.parse(item.card, context);
      for (let i = 0; i < context.eventCount; i++) {
        const e = context.getEventAt(i);
        errors.push("parse: " + AdaptiveCards.ValidationEvent[e.event] + ": " + e.message);
      }
      const validation = card.validateProperties();
      for (const e of validation.validationEvents) {
        errors.push("validation: " + AdaptiveCards.ValidationEvent[e.event] + ": " + e.message);
      }
      const element = card.render();
      if (!element) errors.push("render returned nothing");
      else frame.appendChild(element);
    } catch (err) {
      errors.push("exception: " + err);
    }
    for (const entry of logged.slice(before)) (entry.level === "error" ? errors : warnings).push(entry.text);
    const rect = frame.getBoundingClientRect();
    out.push({ name: item.name, errors, warnings,
               x: rect.left + window.scrollX, y: rect.top + window.scrollY,
               width: rect.width, height: rect.height, text: frame.innerText.trim(),
               links: Array.from(frame.querySelectorAll("a[href]")).map((a) => a.href),
               tags: Array.from(new Set(Array.from(frame.querySelectorAll("*")).map((e) => e.tagName.toLowerCase()))) });
  });
  return out;
};
</script></body></html>`;
}

// Chrome DevTools Protocol over --remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4.
function startChromium(executable, userDataDir) {
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--remote-debugging-pipe", `--user-data-dir=${userDataDir}`, "about:blank",
  ];
  const child = spawn(executable, args, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => { stderr += chunk; });
  const pending = new Map();
  let nextId = 1;
  let buffer = "";
  child.stdio[4].on("data", (chunk) => {
    buffer += chunk.toString("utf8");
    let end;
    while ((end = buffer.indexOf("\0")) >= 0) {
      const message = JSON.parse(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
      const waiter = message.id && pending.get(message.id);
      if (waiter) {
        pending.delete(message.id);
        if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
        else waiter.resolve(message.result);
      }
    }
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.on("exit", (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`chromium exited (${code}): ${stderr.slice(-2000)}`));
    pending.clear();
  });
  child.on("error", (err) => {
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  });
  function send(method, params = {}, sessionId) {
    const id = nextId++;
    const message = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.stdio[3].write(JSON.stringify(message) + "\0");
    });
  }
  return { child, send, exited };
}

async function main() {
  const executable = request.chromium || process.env.CHROMIUM || "/usr/bin/chromium";
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "vigil-cards-"));
  const pageFile = path.join(workDir, "cards.html");
  fs.writeFileSync(pageFile, pageHtml(request.cards));
  const browser = startChromium(executable, path.join(workDir, "profile"));
  try {
    const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await browser.send("Target.attachToTarget", { targetId, flatten: true });
    const call = (method, params) => browser.send(method, params, sessionId);
    await call("Emulation.setDeviceMetricsOverride", { width: 820, height: 900, deviceScaleFactor: 1, mobile: false });
    await call("Page.enable");
    await call("Page.navigate", { url: "file://" + pageFile });
    // Wait until the page's scripts have run (the navigation is a local file).
    for (let i = 0; i < 200; i++) {
      const ready = await call("Runtime.evaluate", { expression: "typeof window.renderAll === 'function' && document.readyState === 'complete'", returnByValue: true });
      if (ready.result.value === true) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const evaluated = await call("Runtime.evaluate", { expression: "window.renderAll()", returnByValue: true });
    if (evaluated.exceptionDetails) throw new Error("page: " + JSON.stringify(evaluated.exceptionDetails));
    const results = evaluated.result.value;
    for (const result of results) {
      if (!request.outDir || result.width <= 0 || result.height <= 0) continue;
      const shot = await call("Page.captureScreenshot", {
        format: "png", captureBeyondViewport: true,
        clip: { x: result.x, y: result.y, width: result.width, height: result.height, scale: 1 },
      });
      fs.mkdirSync(request.outDir, { recursive: true });
      result.png = path.join(request.outDir, `${result.name}.png`);
      fs.writeFileSync(result.png, Buffer.from(shot.data, "base64"));
    }
    process.stdout.write(JSON.stringify({ results }));
    await browser.send("Browser.close").catch(() => {});
  } finally {
    const timer = setTimeout(() => browser.child.kill("SIGKILL"), 5000);
    await browser.exited;
    clearTimeout(timer);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
