// Real console logs (tests/fixtures/console/*.log, raw QEMU output of real
// boots of the agent) parsed by the runner's parser: every message arrives,
// and facts and scenario outcomes are exactly those the .meta file records.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "protocol/console_parser.h"
#include "protocol/crash_detector.h"

namespace archmatrix::protocol {
namespace {

namespace fs = std::filesystem;

struct Meta {
  std::string nonce;
  std::size_t messages = 0;
  std::map<std::string, std::string> facts;
  std::vector<std::tuple<std::string, std::string, std::string>> scenarios;  // name, status, value
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Meta read_meta(const fs::path& p) {
  Meta m;
  std::istringstream in(slurp(p));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "nonce") ls >> m.nonce;
    if (key == "messages") ls >> m.messages;
    if (key == "fact") {
      std::string k, v;
      ls >> k;
      std::getline(ls, v);
      m.facts[k] = v.empty() ? v : v.substr(1);
    }
    if (key == "scenario") {
      std::string name, status, value;
      ls >> name >> status;
      std::getline(ls, value);
      m.scenarios.emplace_back(name, status, value.empty() ? value : value.substr(1));
    }
  }
  return m;
}

std::vector<fs::path> logs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(ARCHMATRIX_FIXTURES) / "console"))
    if (e.path().extension() == ".log") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConsoleFixtures, ThereAreRealLogsOfEveryArch) {
  std::string names;
  for (const auto& p : logs()) names += p.filename().string() + " ";
  for (const char* arch : {"aarch64", "armhf", "x86_64"}) EXPECT_NE(names.find(arch), std::string::npos) << names;
}

TEST(ConsoleFixtures, EveryMessageFactAndOutcomeIsRecovered) {
  for (const auto& log : logs()) {
    SCOPED_TRACE(log.filename().string());
    auto meta_path = log;
    meta_path.replace_extension(".meta");
    const Meta meta = read_meta(meta_path);
    ASSERT_EQ(meta.nonce.size(), 16u);
    // Feed the log in awkward chunk sizes, as reads from a pipe would come.
    const std::string bytes = slurp(log);
    LineSplitter split;
    ConsoleParser parser(meta.nonce);
    CrashDetector crash;
    for (std::size_t i = 0, step = 1; i < bytes.size(); i += step, step = step % 977 + 13)
      for (const auto& l : split.feed(std::string_view(bytes).substr(i, step))) {
        parser.feed_line(l);
        crash.feed_line(l);
      }
    if (auto rest = split.finish()) parser.feed_line(*rest);
    auto msgs = parser.take_messages();
    EXPECT_EQ(msgs.size(), meta.messages);
    EXPECT_TRUE(parser.incomplete().empty());
    EXPECT_FALSE(crash.crashed()) << crash.title();
    std::map<std::string, const Message*> results;
    const Message* facts = nullptr;
    for (const auto& m : msgs) {
      if (m.kind == "facts") facts = &m;
      if (m.kind == "result") results[m.fields.at("name")] = &m;
    }
    ASSERT_NE(facts, nullptr);
    for (const auto& [k, v] : meta.facts) EXPECT_EQ(facts->fields.at(k), v) << k;
    EXPECT_EQ(results.size(), meta.scenarios.size());
    for (const auto& [name, status, value] : meta.scenarios) {
      ASSERT_TRUE(results.count(name)) << name;
      EXPECT_EQ(results[name]->fields.at("status"), status) << name;
      EXPECT_EQ(results[name]->fields.at("value"), value) << name;
    }
  }
}

}  // namespace
}  // namespace archmatrix::protocol
