#include "report/html_report.h"

#include <fmt/format.h>

#include "report/attribution.h"
#include "util/text_safe.h"

namespace archmatrix::report {

namespace {

using util::html_escape;
using verdict::Code;

// Colours by code, with text colours chosen for contrast. Failures are the
// loud colours; XPASS shares FAIL's red but is striped, because it is a
// different story (the world changed) told with the same urgency.
constexpr std::string_view kStyle = R"css(
:root{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;font-size:14px;color:#212529;background:#fff}
body{margin:0 1.5rem 2rem}
h1{font-size:1.5rem;margin:1rem 0 .3rem}
h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
.meta{color:#555;margin:.2rem 0}
.totals span{display:inline-block;margin:.15rem .3rem .15rem 0;padding:.1rem .45rem;border-radius:3px}
.verdict{font-size:.9rem;padding:.15rem .5rem;border-radius:3px;vertical-align:middle}
.gridwrap{overflow:auto;max-width:100%}
table{border-collapse:collapse}
.grid th,.grid td{border:1px solid #fff}
.grid thead th{vertical-align:bottom;font-weight:500;background:#f8f9fa}
.grid th.col{padding:.3rem .1rem;min-width:4.6rem}
.grid th.scn{padding:.25rem .3rem;border-bottom:2px solid #adb5bd;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:1px}
.grid th.col div{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:18rem;overflow:hidden;text-overflow:ellipsis;margin:0 auto}
.grid th.row{text-align:left;padding:.2rem .6rem .2rem .3rem;background:#f8f9fa;white-space:nowrap;font-weight:600}
.grid th.row .axes{font-weight:400;color:#666;font-size:.8rem}
.grid td.boot{color:#666;text-align:right;padding:0 .5rem;background:#f8f9fa;white-space:nowrap}
.grid td.r{text-align:center;font:600 .72rem ui-monospace,"DejaVu Sans Mono",monospace;cursor:pointer;padding:.35rem .15rem;min-width:4.6rem}
.grid td.r:hover,.grid td.r:focus{outline:2px solid #212529;outline-offset:-2px}
.grid td.sel{outline:3px solid #1c7ed6;outline-offset:-3px}
.grid td.none{text-align:center;color:#adb5bd;background:#fff}
.PASS{background:#2f9e44;color:#fff}
.FAIL{background:#e03131;color:#fff}
.XPASS{background:repeating-linear-gradient(135deg,#e03131 0 6px,#b02525 6px 12px);color:#fff}
.XFAIL{background:#74c0fc;color:#0b3954}
.UNSUPPORTED{background:#ced4da;color:#495057}
.TIMEOUT{background:#f08c00;color:#fff}
.CRASH{background:#7a0d0d;color:#fff}
.ERROR{background:#7048e8;color:#fff}
.NOTRUN{background:#f1f3f5;color:#868e96}
.FLAKY{background:repeating-linear-gradient(135deg,#2f9e44 0 6px,#f08c00 6px 12px);color:#fff}
.ok{background:#2f9e44;color:#fff}.bad{background:#e03131;color:#fff}
#detail{border:1px solid #ced4da;border-radius:4px;padding:.4rem 1rem 1rem;margin-top:1rem;background:#fcfcfd}
#detail h3{font-size:1.05rem;margin:.6rem 0}
#detail h4{font-size:.9rem;margin:.8rem 0 .2rem;color:#555}
#detail .close{float:right;margin-top:.5rem}
pre{background:#f1f3f5;padding:.5rem;overflow:auto;max-height:28rem;white-space:pre-wrap;word-break:break-all;margin:.2rem 0}
.code{padding:.05rem .35rem;border-radius:3px;font:600 .8rem ui-monospace,"DejaVu Sans Mono",monospace}
.list th,.list td{border-bottom:1px solid #e9ecef;padding:.25rem .6rem .25rem 0;text-align:left;vertical-align:top}
.list td.id{white-space:nowrap}
.list td.facts,.list td.axes{font:.8rem ui-monospace,"DejaVu Sans Mono",monospace}
.warn{color:#c92a2a;font-weight:600}
.muted{color:#868e96}
)css";

// Opens the result named by the URL's fragment (#rN), so a result can be
// linked to and a click is just a fragment change. Templates are cloned as
// nodes, never re-parsed from strings, so escaped guest text stays text.
constexpr std::string_view kScript = R"js(
(function () {
  var panel = document.getElementById('detail');
  function show(id) {
    document.querySelectorAll('td.sel').forEach(function (e) { e.classList.remove('sel'); });
    var tpl = /^r[0-9]+$/.test(id) ? document.getElementById(id) : null;
    if (!tpl) { panel.hidden = true; panel.replaceChildren(); return; }
    var close = document.createElement('button');
    close.className = 'close';
    close.textContent = 'close';
    close.addEventListener('click', function () { history.replaceState(null, '', '#'); show(''); });
    panel.replaceChildren(close, tpl.content.cloneNode(true));
    var scn = document.getElementById(tpl.dataset.scn);
    if (scn) panel.appendChild(scn.content.cloneNode(true));
    panel.hidden = false;
    var td = document.querySelector('td[data-ref="' + id + '"]');
    if (td) td.classList.add('sel');
  }
  function pick(e) {
    var td = e.target.closest('td[data-ref]');
    if (td) location.hash = td.dataset.ref;
  }
  var grid = document.getElementById('grid');
  grid.addEventListener('click', pick);
  grid.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick(e); } });
  window.addEventListener('hashchange', function () { show(location.hash.slice(1)); });
  show(location.hash.slice(1));
  document.body.dataset.ready = '1';
})();
)js";

std::string short_code(Code c) {
  if (c == Code::UNSUPPORTED) return "UNSUP";
  return std::string(verdict::code_name(c));
}

std::string size_text(const std::string& v) {
  if (v == "4096") return "4K";
  if (v == "16384") return "16K";
  if (v == "65536") return "64K";
  return v;
}

std::string axes_text(const CellSummary& c) {
  std::string out;
  for (const auto& [k, v] : c.axes) out += (out.empty() ? "" : " ") + k + "=" + (k == "page_size" ? size_text(v) : v);
  return html_escape(out);
}

// A name that can go into a shell command as it is (cell ids, scenario names
// and check names the project allows); a check name is the guest's word and
// may be anything, so the command then leaves it out.
bool shell_word(const std::string& w) {
  return !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") ==
                           std::string::npos;
}

// The commands that rerun a failed result alone and that bundle its cell for
// another machine (README "Reproduce a failure").
std::string repro_block(const std::string& cell, const CheckColumn& col) {
  if (!shell_word(cell) || !shell_word(col.scenario)) return "";
  const std::string target = col.scenario + (col.check.empty() || !shell_word(col.check) ? "" : "/" + col.check);
  return "<h4>reproduce</h4><pre>archmatrix repro " + html_escape(cell) + " " + html_escape(target) +
         "\narchmatrix bundle " + html_escape(cell) + " " + html_escape(col.scenario) + " --out bundle-" +
         html_escape(cell) + "-" + html_escape(col.scenario) + "</pre>\n";
}

// Percent-encodes all but unreserved characters (and '/' when `slash`).
std::string percent_encoded(const std::string& s, bool slash) {
  std::string out;
  for (unsigned char c : s) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '~' || c == '-' || (slash && c == '/');
    if (plain) out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// The console log is linked by the cell id, never by a path read from a
// report file, so a doctored report.json cannot make a javascript: link.
std::string console_href(const std::string& id) { return "cells/" + percent_encoded(id, false) + "/console.log"; }

// A path a report names, as a link that can only be relative to the report
// (a doctored report.json cannot make it javascript: or another site).
std::string relative_href(const std::string& path) {
  const std::string out = percent_encoded(path, true);
  if (out.empty() || out[0] == '/' || out.find("..") != std::string::npos) return "#";
  return out;
}

std::string seconds(double s) { return s < 0 ? "-" : fmt::format("{:.1f} s", s); }

std::string scenario_status(const ScenarioRow& sc) {
  if (sc.status.empty()) return "no result from the guest";
  if (sc.status == "exit") return fmt::format("exit {} after {:.3f} s", sc.value, sc.duration_ms / 1000.0);
  return fmt::format("{} {} after {:.3f} s", sc.status, sc.value, sc.duration_ms / 1000.0);
}

std::string output_block(const char* name, const std::string& text, std::uint64_t dropped) {
  std::string head = name;
  if (dropped) head += fmt::format(" ({} further bytes dropped by the agent)", dropped);
  if (text.empty()) return fmt::format("<h4>{}</h4><p class=\"muted\">(empty)</p>\n", head);
  return fmt::format("<h4>{}</h4><pre>{}</pre>\n", head, html_escape(text));
}

// `run --rerun-failures`: every attempt of the scenario, with its console log.
std::string attempts_block(const ScenarioRow& sc) {
  if (sc.attempts.empty()) return {};
  std::string out = "<h4>attempts</h4><ol class=\"attempts\">";
  for (const auto& a : sc.attempts) {
    const std::string code(verdict::code_name(a.code));
    out += fmt::format("<li value=\"{}\"><span class=\"code {}\">{}</span> {} · <a href=\"{}\">console log</a>{}</li>",
                       a.attempt, code, code, html_escape(a.message), html_escape(relative_href(a.console_log)),
                       a.trace.empty() ? "" : " · <a href=\"" + html_escape(relative_href(a.trace)) + "\">strace</a>");
  }
  return out + "</ol>\n";
}

struct Page {
  std::string grid, templates;
  int next_ref = 0;
};

void cell_row(Page& p, const CellSummary& c, std::size_t ci, const std::vector<CheckColumn>& cols) {
  p.grid += fmt::format("<tr><th class=\"row\" scope=\"row\"><a href=\"#cell-{}\">{}</a>{}<div class=\"axes\">{} {}</div></th>"
                        "<td class=\"boot\">{}</td>",
                        ci, html_escape(c.id), c.fact_mismatches.empty() ? "" : " <span class=\"warn\">wrong guest</span>",
                        html_escape(c.arch), axes_text(c), seconds(c.boot_seconds));
  for (std::size_t si = 0; si < c.scenarios.size(); ++si) {
    const auto& sc = c.scenarios[si];
    p.templates += fmt::format("<template id=\"s{}-{}\"><h3>scenario {}: {}</h3>\n{}{}</template>\n", ci, si,
                               html_escape(sc.scenario), html_escape(scenario_status(sc)),
                               output_block("stdout", sc.stdout_text, sc.stdout_dropped),
                               output_block("stderr", sc.stderr_text, sc.stderr_dropped));
  }
  for (const auto& col : cols) {
    const auto* r = find_result(c, col);
    if (!r) {
      p.grid += "<td class=\"none\">-</td>";
      continue;
    }
    std::size_t si = 0;
    while (c.scenarios[si].scenario != col.scenario) ++si;
    const std::string code(verdict::code_name(r->code));
    const std::string ref = fmt::format("r{}", p.next_ref++);
    p.grid += fmt::format("<td class=\"r {}\" data-code=\"{}\" data-ref=\"{}\" tabindex=\"0\" title=\"{}: {}\">{}</td>",
                          code, code, ref, html_escape(col.name()), code, short_code(r->code));
    std::string body = fmt::format("<h3><span class=\"code {}\">{}</span> {} on {}</h3>\n<p>{}</p>\n", code, code,
                                   html_escape(col.name()), html_escape(c.id), html_escape(r->message));
    if (!r->detail.empty()) body += "<h4>detail</h4><pre>" + html_escape(r->detail) + "</pre>\n";
    if (r->code == Code::CRASH && !c.crash_title.empty())
      body += "<h4>kernel crash</h4><pre>" + html_escape(c.crash_title + "\n" + c.crash_text) + "</pre>\n";
    body += attempts_block(c.scenarios[si]);
    if (verdict::is_failure(r->code)) body += repro_block(c.id, col);
    body += fmt::format("<p><a href=\"{}\">console log</a> · <a href=\"#cell-{}\">cell details</a></p>\n",
                        html_escape(console_href(c.id)), ci);
    p.templates += fmt::format("<template id=\"{}\" data-scn=\"s{}-{}\">{}</template>\n", ref, ci, si, body);
  }
  p.grid += "</tr>\n";
}

std::string header(const RunSummary& s) {
  int failures = 0;
  std::string tally;
  for (const auto& [code, n] : totals(s)) {
    if (verdict::is_failure(code)) failures += n;
    tally += fmt::format("<span class=\"{}\">{} {}</span>", verdict::code_name(code), n, verdict::code_name(code));
  }
  const bool bad = failed(s);
  return fmt::format(
      "<header>\n<h1>archmatrix report <span class=\"verdict {}\">{}</span></h1>\n"
      "<p class=\"meta\">matrix {} · started {} · {} cells · {:.1f} s · archmatrix {}{}</p>\n"
      "<p class=\"totals\">{}</p>\n</header>\n",
      bad ? "bad" : "ok", bad ? fmt::format("FAILED: {} failure{}", failures, failures == 1 ? "" : "s") : "passed",
      html_escape(s.matrix), html_escape(s.started), s.cells.size(), s.wall_seconds, html_escape(s.archmatrix_version),
      s.interrupted ? " · <span class=\"warn\">run interrupted</span>" : "", tally.empty() ? "no results" : tally);
}

std::string attribution_section(const RunSummary& s) {
  const auto all = attribute(s);
  if (all.empty()) return "";
  std::string out =
      "<h2>Attribution</h2>\n<p class=\"meta\">Where each check breaks (FAIL or XFAIL), over the cells where it "
      "passed or failed.</p>\n<table class=\"list attr\"><tr><th>check</th><th>where it breaks</th><th>breaks on</th></tr>\n";
  for (const auto& a : all) {
    const auto n = a.breaking.size() + a.holding.size();
    std::string cells;
    for (const auto& id : a.breaking) cells += (cells.empty() ? "" : ", ") + id;
    std::string where = html_escape(a.text);
    if (a.kind == Attribution::Kind::predicate) {
      std::string expr;
      for (const auto& atom : a.atoms) expr += (expr.empty() ? "" : " && ") + atom.text();
      where = "fails exactly when <code>" + html_escape(expr) + "</code>" + html_escape(fact_note(a.atoms));
    }
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(a.column.name()), where,
                       n == 0 ? std::string("-")
                              : fmt::format("{} of {}{}", a.breaking.size(), n,
                                            cells.empty() ? "" : ": " + html_escape(cells)));
  }
  return out + "</table>\n";
}

std::string cells_section(const RunSummary& s) {
  std::string out =
      "<h2>Cells</h2>\n<table class=\"list cells\"><tr><th>cell</th><th>axes</th><th>kernel</th><th>guest facts</th>"
      "<th>end</th><th>console</th></tr>\n";
  for (std::size_t ci = 0; ci < s.cells.size(); ++ci) {
    const auto& c = s.cells[ci];
    std::string facts;
    for (const auto& [k, v] : c.facts) facts += (facts.empty() ? "" : "<br>") + html_escape(k + "=" + v);
    for (const auto& m : c.fact_mismatches) facts += "<br><span class=\"warn\">" + html_escape(m) + "</span>";
    std::string end = html_escape(c.end + (c.end_detail.empty() ? "" : ": " + c.end_detail));
    if (!c.crash_title.empty()) end += "<br><span class=\"warn\">" + html_escape(c.crash_title) + "</span>";
    for (const auto& a : c.protocol_anomalies) end += "<br>" + html_escape(a);
    std::string argv;
    for (const auto& a : c.qemu_argv) argv += (argv.empty() ? "" : " ") + a;
    out += fmt::format(
        "<tr id=\"cell-{}\"><td class=\"id\">{}</td><td class=\"axes\">arch={}<br>{}</td><td>{} {}<br>{}<br><span class=\"muted\">{}</span></td>"
        "<td class=\"facts\">{}</td><td>{}<br>boot {}, wall {}</td><td><a href=\"{}\">console.log</a>"
        "<details><summary>qemu</summary><pre>{}</pre></details></td></tr>\n",
        ci, html_escape(c.id), html_escape(c.arch), axes_text(c), html_escape(c.kernel.package),
        html_escape(c.kernel.version), html_escape(c.kernel.release), html_escape(c.kernel.recipe),
        facts.empty() ? "<span class=\"muted\">none</span>" : facts, end, seconds(c.boot_seconds),
        seconds(c.wall_seconds), html_escape(console_href(c.id)), html_escape(argv));
  }
  out += "</table>\n";
  if (!s.skipped.empty()) {
    out += "<h2>Not planned</h2>\n<table class=\"list\"><tr><th>cell</th><th>why</th><th>where</th></tr>\n";
    for (const auto& k : s.skipped)
      out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(k.id), html_escape(k.reason),
                         html_escape(k.where));
    out += "</table>\n";
  }
  return out;
}

}  // namespace

std::string html_report(const RunSummary& s) {
  const auto cols = check_columns(s);
  Page p;
  for (std::size_t ci = 0; ci < s.cells.size(); ++ci) cell_row(p, s.cells[ci], ci, cols);
  // Two header rows: each scenario over its checks' columns (columns are
  // sorted by "scenario/check", so a scenario's are adjacent), then the
  // checks, numbered as in the console table.
  std::string groups = "<tr><th rowspan=\"2\">cell</th><th rowspan=\"2\">boot</th>", checks = "<tr>";
  for (std::size_t i = 0, n; i < cols.size(); i += n) {
    n = 1;
    while (i + n < cols.size() && cols[i + n].scenario == cols[i].scenario) ++n;
    groups += fmt::format("<th class=\"scn\" colspan=\"{}\" scope=\"colgroup\" title=\"{}\">{}</th>", n,
                          html_escape(cols[i].scenario), html_escape(cols[i].scenario));
  }
  for (std::size_t i = 0; i < cols.size(); ++i)
    checks += fmt::format("<th class=\"col\" title=\"{}\"><div>{} {}</div></th>", html_escape(cols[i].name()), i + 1,
                          html_escape(cols[i].check.empty() ? std::string("(whole)") : cols[i].check));
  const std::string head = groups + "</tr>\n" + checks + "</tr>";
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<title>archmatrix report</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n" + header(s);
  out += "<div class=\"gridwrap\"><table class=\"grid\" id=\"grid\">\n<thead>" + head + "</thead>\n<tbody>\n" + p.grid +
         "</tbody>\n</table></div>\n";
  out += "<p class=\"meta\">Click a result to see its output.</p>\n<section id=\"detail\" hidden></section>\n";
  out += attribution_section(s) + cells_section(s);
  out += "<div id=\"data\" hidden>\n" + p.templates + "</div>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace archmatrix::report
