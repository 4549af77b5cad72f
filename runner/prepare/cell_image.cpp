#include "prepare/cell_image.h"

#include <fmt/format.h>

#include <random>
#include <set>

#include "prepare/initramfs.h"
#include "util/error.h"

namespace archmatrix::prepare {

namespace {
constexpr unsigned kNobody = 65534;
}

namespace {

// The plan's fields are separated by single spaces, one line each, and the
// agent strips a line's final CR and refuses a NUL byte: a field with any of
// those would reach the scenario as something else.
void require_plan_field(const std::string& scenario, const std::string& what, const std::string& field) {
  if (field.empty() || field.find_first_of(std::string(" \n\r\0", 4)) != std::string::npos)
    throw util::Error(fmt::format("scenario {}: {} '{}' cannot be written into the guest plan (empty, or a space, "
                                  "line break or NUL byte in it)",
                                  scenario, what, field),
                      util::kExitBadInput);
}

}  // namespace

std::string guest_plan(const std::string& nonce, const std::vector<GuestScenario>& scenarios,
                       const PlanExtras& extras) {
  std::string out = "nonce " + nonce + "\n";
  if (extras.attempt > 1) out += fmt::format("attempt {}\n", extras.attempt);
  if (extras.echo) out += "echo\n";
  for (const auto& s : scenarios) {
    require_plan_field(s.name, "the name", s.name);
    for (const auto& a : s.args) require_plan_field(s.name, "the argument", a);
    out += fmt::format("scenario {} {} {} /archmatrix/bin/{}", s.name, s.timeout_ms,
                       s.privileged ? 0u : kNobody, s.name);
    for (const auto& a : s.args) out += " " + a;
    out += "\n";
  }
  return out;
}

std::string make_nonce() {
  std::random_device rd;
  const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", v);
}

std::filesystem::path write_cell_image(const plan::Cell& cell, const TargetBinaries& bins,
                                       const std::vector<GuestScenario>& scenarios,
                                       const std::string& nonce, const std::filesystem::path& dir,
                                       const PlanExtras& extras) {
  (void)cell;
  InitramfsBuilder b;
  for (const char* d : {"dev", "proc", "sys", "tmp", "archmatrix", "archmatrix/bin"}) b.add_directory(d);
  b.add_char_device("dev/console", 5, 1, 0600);
  b.add_file("init", bins.agent, 0755);
  b.add_bytes("archmatrix/plan", guest_plan(nonce, scenarios, extras), 0600);
  std::set<std::string> runtime_files;  // a library two scenarios need goes in once
  for (const auto& s : scenarios) {
    b.add_file("archmatrix/bin/" + s.name, bins.scenarios.at(s.name), 0755);
    if (auto it = bins.runtime.find(s.name); it != bins.runtime.end())
      for (const auto& f : it->second)
        if (runtime_files.insert(f.guest_path).second) b.add_file(f.guest_path, f.host, 0755);
  }
  const auto out = dir / "initramfs.cpio";
  b.write(out);
  return out;
}

}  // namespace archmatrix::prepare

namespace archmatrix::prepare {

std::filesystem::path write_channel_image(const std::filesystem::path& agent,
                                          const std::vector<std::filesystem::path>& modules,
                                          const std::string& nonce, const std::filesystem::path& dir) {
  InitramfsBuilder b;
  for (const char* d : {"dev", "proc", "sys", "tmp", "archmatrix"}) b.add_directory(d);
  b.add_char_device("dev/console", 5, 1, 0600);
  b.add_file("init", agent, 0755);
  b.add_bytes("archmatrix/plan", "nonce " + nonce + "\nchannel org.archmatrix.0\n", 0600);
  for (const auto& m : modules) b.add_file("archmatrix/modules/" + m.filename().string(), m, 0600);
  const auto out = dir / "initramfs.cpio";
  b.write(out);
  return out;
}

}  // namespace archmatrix::prepare
