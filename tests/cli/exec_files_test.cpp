// `archmatrix exec --put/--get` arguments that cannot work end exec before
// anything boots: status 125 and one line naming the argument. "Nothing
// booted" is observed: the QEMU directory given holds programs that only
// leave a mark.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_helpers.h"

namespace archmatrix::testing {
namespace {

class ExecFileArguments : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scratch("exec-files");
    for (const char* name : {"qemu-system-aarch64", "qemu-system-arm", "qemu-system-x86_64"}) {
      std::ofstream(dir_ / name) << "#!/bin/sh\necho \"$0\" >> \"" << (dir_ / "booted").string() << "\"\nexit 1\n";
      fs::permissions(dir_ / name, fs::perms::owner_all);
    }
  }

  Outcome exec(const std::vector<std::string>& file_args) {
    std::vector<std::string> args{"exec", "--qemu-dir", dir_.string(), "--cell", "x86_64-6.1"};
    args.insert(args.end(), file_args.begin(), file_args.end());
    args.insert(args.end(), {"--", "/bin/true"});
    return run_archmatrix(args, dir_ / "log");
  }

  void expect_refused(const Outcome& o, const std::string& what) {
    EXPECT_EQ(o.exit_code, 125) << o.log;
    EXPECT_EQ(o.log.rfind("archmatrix exec: ", 0), 0u) << o.log;
    EXPECT_EQ(o.log.find('\n'), o.log.size() - 1) << "expected one line:\n" << o.log;
    EXPECT_NE(o.log.find(what), std::string::npos) << "expected '" << what << "' in:\n" << o.log;
    EXPECT_FALSE(fs::exists(dir_ / "booted")) << "a QEMU was started";
  }

  fs::path dir_;
};

TEST_F(ExecFileArguments, APutOfAPathThatDoesNotExist) {
  const std::string missing = (dir_ / "no-such-dir").string();
  expect_refused(exec({"--put", missing}), "--put " + missing + ": " + missing + " does not exist");
}

TEST_F(ExecFileArguments, APutWithARelativeDestination) {
  expect_refused(exec({"--put", dir_.string() + ":relative/place"}), "expected DST to be an absolute guest path");
}

TEST_F(ExecFileArguments, AGetThatIsNotAnAbsolutePath) {
  expect_refused(exec({"--get", "out.txt"}), "--get out.txt: expected the absolute path of a file in the guest");
}

}  // namespace
}  // namespace archmatrix::testing
