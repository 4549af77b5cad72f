#include "report/json_report.h"

namespace archmatrix::report {

using nlohmann::json;

namespace {

json result_json(const ResultRow& r) {
  return {{"check", r.check},
          {"code", std::string(verdict::code_name(r.code))},
          {"message", r.message},
          {"detail", r.detail}};
}

json attempt_json(const AttemptRow& r) {
  json j = {{"attempt", r.attempt},         {"code", std::string(verdict::code_name(r.code))},
            {"status", r.status},           {"value", r.value},
            {"duration_ms", r.duration_ms}, {"message", r.message},
            {"console_log", r.console_log}};
  if (!r.trace.empty()) j["trace"] = r.trace;
  return j;
}

json scenario_json(const ScenarioRow& s) {
  json results = json::array();
  for (const auto& r : s.results) results.push_back(result_json(r));
  json j = {{"scenario", s.scenario},
          {"code", std::string(verdict::code_name(s.code))},
          {"status", s.status},
          {"value", s.value},
          {"duration_ms", s.duration_ms},
          {"stdout", s.stdout_text},
          {"stderr", s.stderr_text},
          {"stdout_dropped", s.stdout_dropped},
          {"stderr_dropped", s.stderr_dropped},
          {"results", results}};
  if (!s.attempts.empty()) {  // run --rerun-failures only: other reports stay as they were
    json attempts = json::array();
    for (const auto& r : s.attempts) attempts.push_back(attempt_json(r));
    j["attempts"] = attempts;
  }
  return j;
}

json cell_json(const CellSummary& c) {
  json scenarios = json::array();
  for (const auto& s : c.scenarios) scenarios.push_back(scenario_json(s));
  const auto& k = c.kernel;
  json j = {{"id", c.id},
          {"arch", c.arch},
          {"axes", c.axes},
          {"kernel",
           {{"recipe", k.recipe}, {"source", k.source}, {"suite", k.suite}, {"package", k.package},
            {"version", k.version}, {"release", k.release}, {"sha256", k.sha256},
            {"cache_key", k.cache_key}, {"image", k.image}}},
          {"memory_mib", c.memory_mib},
          {"cpus", c.cpus},
          {"qemu_argv", c.qemu_argv},
          {"console_log", c.console_log},
          {"end", c.end},
          {"end_detail", c.end_detail},
          {"boot_seconds", c.boot_seconds},
          {"wall_seconds", c.wall_seconds},
          {"facts", c.facts},
          {"fact_mismatches", c.fact_mismatches},
          {"crash", {{"title", c.crash_title}, {"text", c.crash_text}}},
          {"protocol_anomalies", c.protocol_anomalies},
          {"scenarios", scenarios}};
  if (!c.accel.empty()) {
    j["accel"] = c.accel;
    j["accel_detail"] = c.accel_detail;
  }
  if (!c.boot.empty()) {  // exec's cells only: run's reports stay as they were
    j["boot"] = c.boot;
    j["boot_detail"] = c.boot_detail;
  }
  return j;
}

}  // namespace

json to_json(const RunSummary& s) {
  json cells = json::array();
  for (const auto& c : s.cells) cells.push_back(cell_json(c));
  json skipped = json::array();
  for (const auto& k : s.skipped) skipped.push_back({{"id", k.id}, {"reason", k.reason}, {"where", k.where}});
  json tot = json::object();
  for (const auto& [code, n] : totals(s)) tot[std::string(verdict::code_name(code))] = n;
  return {{"schema", RunSummary::kSchema},
          {"archmatrix", s.archmatrix_version},
          {"matrix", s.matrix},
          {"started", s.started},
          {"wall_seconds", s.wall_seconds},
          {"interrupted", s.interrupted},
          {"shard", s.shard},
          {"planned_cells", s.planned_cells},
          {"failed", failed(s)},
          {"totals", tot},
          {"cells", cells},
          {"skipped", skipped}};
}

std::string to_json_text(const RunSummary& s) {
  return to_json(s).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace archmatrix::report
