// A fuzz target for the guest agent's plan reader (images/agent/plan.c,
// built for the host): plans the runner writes (prepare::guest_plan) must
// come back exactly, and a deterministic corpus of mutations of them must
// never crash it, read outside the text (AddressSanitizer, in
// ci/sanitizers.sh), or yield a scenario the agent would run from a
// malformed line.

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "agent_host.h"
#include "prepare/cell_image.h"
#include "util/error.h"

namespace archmatrix::testing {
namespace {

struct plan parsed;  // ~1 MiB: static, as in the agent

struct Outcome {
  int rc = 0;
  std::string err;
  std::unique_ptr<char[]> text;  ///< what `parsed` points into
};

std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text.substr(0, 400)) {
    if (c == '\n') out += "\\n\n";
    else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return text.size() > 400 ? out + "... (" + std::to_string(text.size()) + " bytes)" : out;
}

bool inside(const char* p, const char* buf, std::size_t len) {
  if (p < buf || p > buf + len) return false;
  return p + std::strlen(p) <= buf + len;  // its NUL is in the text or the byte after it
}

bool is_nonce(const char* s) {
  if (std::strlen(s) != NONCE_LEN) return false;
  for (const char* p = s; *p; ++p)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
  return true;
}

// Parses a copy of `text` in a heap block of exactly len + 1 bytes (so any
// read past it is an AddressSanitizer report) and checks what the agent would
// act on. Returns the outcome, which keeps the block `parsed` points into; a
// broken invariant is a test failure.
Outcome parse(const std::string& text) {
  const std::size_t len = text.size();
  Outcome o;
  o.text.reset(new char[len + 1]);
  char* const buf_start = o.text.get();
  std::memcpy(buf_start, text.data(), len);
  buf_start[len] = '\x7f';
  char err[256] = "";
  o.rc = plan_parse(buf_start, len, &parsed, err, sizeof err);
  o.err = err;
  SCOPED_TRACE("plan:\n" + printable(text));
  EXPECT_TRUE(o.rc == 0 || o.rc == -1) << o.rc;
  if (o.rc != 0) {
    EXPECT_FALSE(o.err.empty());
    return o;
  }
  EXPECT_TRUE(is_nonce(parsed.nonce)) << parsed.nonce;
  EXPECT_LE(parsed.count, static_cast<std::size_t>(MAX_SCENARIOS));
  for (std::size_t i = 0; i < parsed.count && i < MAX_SCENARIOS; ++i) {
    const struct scenario& s = parsed.scenarios[i];
    EXPECT_NE(s.name, nullptr);
    if (s.error) continue;  // reported as this scenario's error, never run
    EXPECT_TRUE(inside(s.name, buf_start, len)) << i;
    EXPECT_GT(std::strlen(s.name), 0u);
    EXPECT_LE(std::strlen(s.name), 200u);
    EXPECT_GT(s.timeout_ms, 0u);
    EXPECT_LE(s.uid, 0xfffffffeul);
    EXPECT_NE(s.path, nullptr);
    if (!s.path) continue;
    EXPECT_TRUE(inside(s.path, buf_start, len));
    EXPECT_EQ(s.path[0], '/');
    EXPECT_EQ(s.argv[0], s.path);
    std::size_t n = 0;
    while (n < MAX_ARGS + 2 && s.argv[n]) {
      EXPECT_TRUE(inside(s.argv[n], buf_start, len)) << i << " argv " << n;
      EXPECT_EQ(std::strpbrk(s.argv[n], " \n"), nullptr) << i << " argv " << n;
      ++n;
    }
    EXPECT_LT(n, static_cast<std::size_t>(MAX_ARGS + 2)) << "argv not NULL-terminated";
  }
  return o;
}

std::string random_token(std::mt19937_64& rng, const char* alphabet, std::size_t max_len) {
  const std::size_t n = 1 + rng() % max_len, k = std::strlen(alphabet);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % k];
  return s;
}

std::string random_nonce(std::mt19937_64& rng) {
  std::string s;
  for (int i = 0; i < NONCE_LEN; ++i) s += "0123456789abcdef"[rng() % 16];
  return s;
}

std::vector<prepare::GuestScenario> random_scenarios(std::mt19937_64& rng) {
  std::vector<prepare::GuestScenario> list(rng() % 12);
  for (auto& s : list) {
    s.name = random_token(rng, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-", 30);
    s.timeout_ms = 1 + static_cast<long>(rng() % 10'000'000);
    s.privileged = rng() % 4 == 0;
    for (std::size_t a = rng() % 6; a > 0; --a)
      s.args.push_back(random_token(rng, "abcXYZ019=-_/.,:%\"'\\|<>$\x01\x7f\xc3\xa9", 12));
  }
  return list;
}

// The runner's plan, read back by the agent: every scenario exactly.
TEST(FuzzAgentPlan, WhatTheRunnerWritesComesBackExactly) {
  std::mt19937_64 rng(20261202);
  for (int round = 0; round < 2000; ++round) {
    const std::string nonce = random_nonce(rng);
    const auto scenarios = random_scenarios(rng);
    const std::string text = prepare::guest_plan(nonce, scenarios);
    const Outcome o = parse(text);
    ASSERT_EQ(o.rc, 0) << o.err << "\n" << printable(text);
    EXPECT_EQ(std::string(parsed.nonce), nonce);
    ASSERT_EQ(parsed.count, scenarios.size());
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
      const auto& want = scenarios[i];
      const auto& got = parsed.scenarios[i];
      ASSERT_EQ(got.error, nullptr) << got.error << "\n" << printable(text);
      EXPECT_EQ(std::string(got.name), want.name);
      EXPECT_EQ(got.timeout_ms, static_cast<unsigned long long>(want.timeout_ms));
      EXPECT_EQ(got.uid, want.privileged ? 0ul : 65534ul);
      EXPECT_EQ(std::string(got.path), "/archmatrix/bin/" + want.name);
      std::vector<std::string> args;
      for (std::size_t a = 1; got.argv[a]; ++a) args.push_back(got.argv[a]);
      EXPECT_EQ(args, want.args);
    }
  }
}

// What the plan's syntax cannot carry is refused by the runner, not changed
// on the way into the guest.
TEST(FuzzAgentPlan, TheRunnerRefusesFieldsThePlanCannotCarry) {
  for (const std::string& bad : std::vector<std::string>{"a b", "a\nb", "a\r", std::string("a\0b", 3), ""}) {
    prepare::GuestScenario s{"s", 1000, false, {bad}};
    EXPECT_THROW(prepare::guest_plan("0123456789abcdef", {s}), util::Error) << printable(bad);
  }
}

std::string mutate(std::string text, std::mt19937_64& rng) {
  static const char* const kPieces[] = {
      " ", "  ", "\n", "\r\n", "\r", "(a NUL byte)", "nonce ", "scenario ", "0", "-1",
      "18446744073709551616", "99999999999999999999999", "4294967295", "4294967294", "31536000001",
      "/", "./x", "\xff", "scenario x 1 0 /y", "nonce 0123456789abcdef", "nonce 0123456789ABCDEF"};
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    const std::size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
    switch (rng() % 7) {
      case 0:  // flip one byte
        if (!text.empty()) text[rng() % text.size()] = static_cast<char>(rng() % 256);
        break;
      case 1: {  // insert a piece that means something to the parser
        const std::size_t k = rng() % (sizeof kPieces / sizeof kPieces[0]);
        text.insert(at, k == 5 ? std::string(1, '\0') : std::string(kPieces[k]));
        break;
      }
      case 2:  // delete a range
        if (!text.empty()) text.erase(at, rng() % 40);
        break;
      case 3:  // truncate
        text.resize(at);
        break;
      case 4: {  // duplicate a range
        const std::size_t n = rng() % 200;
        text.insert(at, text.substr(at, n));
        break;
      }
      case 5:  // many fields on one line
        text.insert(at, std::string(rng() % 300, ' ') + "a");
        break;
      case 6:  // a very long token
        text.insert(at, std::string(rng() % 600, static_cast<char>('a' + rng() % 26)));
        break;
    }
  }
  return text;
}

// A deterministic corpus of mutated plans, for about two seconds at most.
TEST(FuzzAgentPlan, MutatedPlansNeverCrashOrYieldAMalformedScenario) {
  std::mt19937_64 rng(9);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int done = 0;
  for (; done < 40000 && std::chrono::steady_clock::now() < until; ++done) {
    const std::string seed = prepare::guest_plan(random_nonce(rng), random_scenarios(rng));
    parse(mutate(seed, rng));
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "at mutation " << done;
      break;
    }
  }
  EXPECT_GT(done, 1000);
}

std::string line_with_args(std::size_t n) {
  std::string s = "scenario s 1000 65534 /x";
  for (std::size_t i = 0; i < n; ++i) s += " a";
  return s + "\n";
}

TEST(FuzzAgentPlan, AttemptAndEchoComeThroughAndABadAttemptIsOne) {
  // run --rerun-failures writes `attempt N` (docs/protocol.md); without it, 1.
  const std::vector<prepare::GuestScenario> one{{"s", 1000, false, {}}};
  ASSERT_EQ(parse(prepare::guest_plan("0123456789abcdef", one)).rc, 0);
  EXPECT_EQ(parsed.attempt, 1u);
  EXPECT_EQ(parsed.echo, 0);
  ASSERT_EQ(parse(prepare::guest_plan("0123456789abcdef", one, {3, true})).rc, 0);
  EXPECT_EQ(parsed.attempt, 3u);
  EXPECT_EQ(parsed.echo, 1);
  EXPECT_EQ(parsed.count, 1u);
  for (const char* bad : {"attempt 0\n", "attempt -2\n", "attempt 1001\n", "attempt 2 3\n", "attempt x\n"}) {
    ASSERT_EQ(parse(std::string("nonce 0123456789abcdef\n") + bad).rc, 0) << bad;
    EXPECT_EQ(parsed.attempt, 1u) << bad;
  }
}

TEST(FuzzAgentPlan, MalformedPlansAndLinesAreRejected) {
  const std::string nonce = "nonce 0123456789abcdef\n";
  EXPECT_EQ(parse("").rc, -1);
  EXPECT_EQ(parse("scenario s 1 0 /x\n").rc, -1);  // no nonce
  EXPECT_EQ(parse("nonce 0123456789ABCDEF\n").rc, -1);
  EXPECT_EQ(parse("nonce 0123456789abcdef0\n").rc, -1);
  EXPECT_EQ(parse("nonce 0123456789abcdef extra\n").rc, -1);
  // A NUL byte would hide everything after it: the whole plan is refused.
  const Outcome nul = parse(nonce + "scenario a 1000 0 /x\n" + std::string(1, '\0') + "scenario b 1000 0 /y\n");
  EXPECT_EQ(nul.rc, -1);
  EXPECT_NE(nul.err.find("NUL byte"), std::string::npos) << nul.err;

  Outcome o;
  const auto one = [&](const std::string& line) -> std::string {
    o = parse(nonce + line);
    if (o.rc != 0 || parsed.count != 1) return "(not one scenario)";
    return parsed.scenarios[0].error ? parsed.scenarios[0].error : "";
  };
  EXPECT_EQ(one("scenario s 1000 65534 /x\r\n"), "");  // CRLF is fine
  EXPECT_EQ(one("scenario s 0 65534 /x\n"), "plan: bad timeout_ms");
  EXPECT_EQ(one("scenario s 99999999999999999999999 65534 /x\n"), "plan: bad timeout_ms");
  EXPECT_EQ(one("scenario s -5 65534 /x\n"), "plan: bad timeout_ms");
  EXPECT_EQ(one("scenario s 1000 4294967295 /x\n"), "plan: bad uid");
  EXPECT_EQ(one("scenario s 1000 65534 x\n"), "plan: scenario path is not absolute");
  EXPECT_EQ(one("scenario s 1000 65534\n"), "plan: scenario line needs <name> <timeout_ms> <uid> <path>");
  EXPECT_EQ(one("scenario " + std::string(201, 'n') + " 1000 0 /x\n"), "plan: scenario name too long");
  EXPECT_EQ(one(line_with_args(MAX_ARGS)), "");
  EXPECT_EQ(one(line_with_args(MAX_ARGS + 1)), "plan: too many scenario arguments");
  EXPECT_EQ(one(line_with_args(1000)), "plan: too many scenario arguments");

  std::string many = nonce;
  for (int i = 0; i < MAX_SCENARIOS + 3; ++i) many += "scenario s" + std::to_string(i) + " 1 0 /x\n";
  o = parse(many);
  ASSERT_EQ(o.rc, 0);
  EXPECT_EQ(parsed.count, static_cast<std::size_t>(MAX_SCENARIOS));
  EXPECT_EQ(parsed.dropped, 3u);
}

}  // namespace
}  // namespace archmatrix::testing
