// Expands Adaptive Card templates with the official adaptivecards-templating engine.
// stdin: {"jobs": [{"name", "template", "data"}], "bench": {"seconds": N} (optional)}
// stdout: {"results": [{"name", "card"} | {"name", "error"}], "bench": [{"name", "cards_per_s", ...}]}
"use strict";
const { Template } = require("adaptivecards-templating");

function readStdin() {
  const chunks = [];
  const fd = 0;
  const buffer = Buffer.alloc(1 << 16);
  for (;;) {
    let n = 0;
    try {
      n = require("fs").readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      if (err.code === "EAGAIN") continue;
      if (err.code === "EOF") break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function expand(template, data) {
  return new Template(template).expand({ $root: data });
}

// Cards per second over about `seconds`, with a fresh Template per card (the documented use)
// and with one Template reused (parse once, expand many).
function bench(job, seconds) {
  const rate = (fn) => {
    for (let i = 0; i < 20; i++) fn();
    let count = 0;
    const start = process.hrtime.bigint();
    const limit = BigInt(Math.round(seconds * 1e9));
    let elapsed = 0n;
    while (elapsed < limit) {
      for (let i = 0; i < 10; i++) fn();
      count += 10;
      elapsed = process.hrtime.bigint() - start;
    }
    return count / (Number(elapsed) / 1e9);
  };
  const reused = new Template(job.template);
  return {
    name: job.name,
    fresh_template_cards_per_s: rate(() => expand(job.template, job.data)),
    reused_template_cards_per_s: rate(() => reused.expand({ $root: job.data })),
  };
}

const request = JSON.parse(readStdin());
const results = request.jobs.map((job) => {
  try {
    return { name: job.name, card: expand(job.template, job.data) };
  } catch (err) {
    return { name: job.name, error: String(err && err.message ? err.message : err) };
  }
});
const out = { results };
if (request.bench) out.bench = request.jobs.map((job) => bench(job, request.bench.seconds));
process.stdout.write(JSON.stringify(out));
