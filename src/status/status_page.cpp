#include "status/status_page.hpp"

#include <openssl/evp.h>

#include <string_view>

namespace cgihost {
namespace {

constexpr std::string_view kStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
.meta { color: #666; }
.cards { display: flex; flex-wrap: wrap; gap: .6em; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5em .8em;
        min-width: 9em; }
.card b { display: block; font-size: 1.3em; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg { background: #fff; border: 1px solid #ddd; border-radius: 6px; }
.rps { stroke: #1f6fd1; } .latency { stroke: #d1541f; }
.legend > span { margin-right: 1.5em; } .legend i { display: inline-block; width: 1.5em;
  height: .25em; vertical-align: middle; margin-right: .3em; }
.swatch-rps { background: #1f6fd1; } .swatch-latency { background: #d1541f; }
)css";

constexpr std::string_view kScript = R"js(
"use strict";
const jsonUrl = location.pathname + "?json";
const chart = { width: 600, height: 200, pad: 30 };
function put(id, text) { document.getElementById(id).textContent = text; }
function fixed(x, digits) { return Number(x).toFixed(digits); }
function points(samples, value, top) {
  const n = samples.length, w = chart.width - 2 * chart.pad, h = chart.height - 2 * chart.pad;
  const out = [];
  samples.forEach((s, i) => {
    const v = value(s);
    if (v === null) return;
    const x = chart.pad + (n > 1 ? (i * w) / (n - 1) : 0);
    const y = chart.height - chart.pad - (top > 0 ? (v / top) * h : 0);
    out.push(fixed(x, 1) + "," + fixed(y, 1));
  });
  return out.join(" ");
}
function drawChart(history) {
  const samples = history.samples;
  const rps = (s) => s.requests_per_second;
  const ms = (s) => (s.script_mean_seconds === null ? null : s.script_mean_seconds * 1000);
  const topRps = Math.max(1, ...samples.map(rps));
  const topMs = Math.max(1, ...samples.map(ms).filter((v) => v !== null));
  document.getElementById("rps-line").setAttribute("points", points(samples, rps, topRps));
  document.getElementById("latency-line").setAttribute("points", points(samples, ms, topMs));
  put("rps-top", fixed(topRps, 1) + " req/s");
  put("latency-top", fixed(topMs, 1) + " ms");
  put("chart-span", samples.length + " samples, one per " + history.interval_seconds + " s");
}
function drawScripts(scripts) {
  const body = document.getElementById("scripts");
  body.replaceChildren();
  for (const s of scripts) {
    const f = s.failures, d = s.duration_seconds, fb = s.first_byte_seconds;
    const cells = [s.name, s.requests, f.exec_failed, f.crashed, f.timed_out,
      f.malformed_output, f.client_gone,
      fb.count ? fixed((fb.sum / fb.count) * 1000, 1) : "-",
      d.count ? fixed((d.sum / d.count) * 1000, 1) : "-",
      fixed(s.cpu_seconds, 3), Math.round(s.peak_rss_bytes / 1024), s.bytes_sent];
    const row = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = String(c);
      row.appendChild(td);
    }
    body.appendChild(row);
  }
}
function show(s) {
  put("version", s.version);
  put("uptime", fixed(s.uptime_seconds, 0) + " s");
  put("workers", s.workers);
  put("connections", s.connections_open);
  put("requests", s.requests);
  for (const c of ["1xx", "2xx", "3xx", "4xx", "5xx"]) put("class-" + c, s.responses[c]);
  put("bytes-in", s.bytes_received);
  put("bytes-out", s.bytes_sent);
  put("body-memory", s.body_memory_bytes + " / " + s.body_memory_limit_bytes);
  put("running", s.scripts_running + " running, " + s.scripts_queued + " queued");
  put("spawns", s.spawns + " (" + fixed(s.spawns_per_second, 1) + "/s)");
  for (const k of Object.keys(s.failures)) put("fail-" + k, s.failures[k]);
  drawScripts(s.scripts);
  drawChart(s.history);
  put("updated", new Date().toLocaleTimeString());
  document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
}
async function poll() {
  try {
    const answer = await fetch(jsonUrl, { cache: "no-store" });
    if (answer.ok) show(await answer.json());
    else put("updated", "status " + answer.status);
  } catch (e) {
    put("updated", "unreachable");
  }
  setTimeout(poll, 2000);
}
poll();
)js";

constexpr std::string_view kBodyTop = R"html(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cgihost status</title>
)html";

constexpr std::string_view kBody = R"html(</head><body data-polls="0">
<h1>cgihost status</h1>
<p class="meta">version <span id="version">?</span>, up <span id="uptime">?</span>,
<span id="workers">?</span> workers; updated <span id="updated">never</span></p>
<div class="cards">
<div class="card">connections<b id="connections">-</b></div>
<div class="card">requests<b id="requests">-</b></div>
<div class="card">1xx / 2xx / 3xx<b><span id="class-1xx">-</span> / <span id="class-2xx">-</span>
 / <span id="class-3xx">-</span></b></div>
<div class="card">4xx / 5xx<b><span id="class-4xx">-</span> / <span id="class-5xx">-</span></b></div>
<div class="card">bytes in<b id="bytes-in">-</b></div>
<div class="card">body bytes out<b id="bytes-out">-</b></div>
<div class="card">body memory<b id="body-memory">-</b></div>
<div class="card">scripts<b id="running">-</b></div>
<div class="card">spawns<b id="spawns">-</b></div>
</div>
<h2>Script failures</h2>
<div class="cards">
<div class="card">exec failed<b id="fail-exec_failed">-</b></div>
<div class="card">crashed<b id="fail-crashed">-</b></div>
<div class="card">timed out<b id="fail-timed_out">-</b></div>
<div class="card">malformed output<b id="fail-malformed_output">-</b></div>
<div class="card">client gone<b id="fail-client_gone">-</b></div>
</div>
<h2>Last minutes</h2>
<p class="legend"><span><i class="swatch-rps"></i>requests/s (top <span id="rps-top">-</span>)</span>
<span><i class="swatch-latency"></i>mean script duration (top <span id="latency-top">-</span>)</span>
<span class="meta" id="chart-span"></span></p>
<svg id="chart" viewBox="0 0 600 200" width="600" height="200" role="img"
 aria-label="requests per second and mean script duration">
<line x1="30" y1="170" x2="570" y2="170" stroke="#999"/>
<line x1="30" y1="30" x2="30" y2="170" stroke="#999"/>
<polyline id="rps-line" class="rps" fill="none" stroke-width="2" points=""/>
<polyline id="latency-line" class="latency" fill="none" stroke-width="2" points=""/>
</svg>
<h2>Scripts</h2>
<table><thead><tr><th>script</th><th>requests</th><th>exec failed</th><th>crashed</th>
<th>timed out</th><th>malformed</th><th>client gone</th><th>first byte ms</th>
<th>mean ms</th><th>CPU s</th><th>peak RSS KiB</th><th>bytes out</th></tr></thead>
<tbody id="scripts"></tbody></table>
)html";

// 'sha256-<base64>' of `text`, as a CSP source expression.
std::string csp_hash(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    (void)EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
    unsigned char encoded[2 * EVP_MAX_MD_SIZE];
    const int encoded_length = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
    return "'sha256-" +
           std::string(reinterpret_cast<char*>(encoded), static_cast<size_t>(encoded_length)) + "'";
}

}  // namespace

const std::string& status_page_html() {
    static const std::string page = std::string(kBodyTop) + "<style>" + std::string(kStyle) +
                                    "</style>\n" + std::string(kBody) + "<script>" +
                                    std::string(kScript) + "</script>\n</body></html>\n";
    return page;
}

const std::string& status_page_csp() {
    static const std::string policy =
        "default-src 'none'; script-src " + csp_hash(kScript) + "; style-src " + csp_hash(kStyle) +
        "; connect-src 'self'; " +
        "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    return policy;
}

}  // namespace cgihost
