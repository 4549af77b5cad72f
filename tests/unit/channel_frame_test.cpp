// The data channel's frames (docs/protocol.md, "Frames") and the module
// order of a Debian kernel's channel modules: what the host reads from an
// untrusted guest must either decode exactly or fail cleanly.

#include <gtest/gtest.h>

#include <random>

#include "prepare/kernel_modules.h"
#include "protocol/channel_frame.h"

namespace archmatrix::protocol {
namespace {

FrameDecoder host_decoder() { return FrameDecoder(guest_to_host_types()); }

TEST(ChannelFrame, HeaderIsLittleEndianLengthTypeFlagsStream) {
  const std::string f = encode_frame(FrameType::stdout_data, 0x0102, "abc");
  ASSERT_EQ(f.size(), kFrameHeader + 3);
  EXPECT_EQ(f.substr(0, 8), std::string("\x03\x00\x00\x00\x81\x00\x02\x01", 8));
  EXPECT_EQ(f.substr(8), "abc");
}

TEST(ChannelFrame, RoundTripsBinaryPayloadsFedOneByteAtATime) {
  std::string payload;
  for (int i = 0; i < 70000; ++i) payload += static_cast<char>(i * 7);  // NULs, 0xff, newlines
  const std::string wire = encode_frame(FrameType::stderr_data, 5, payload) + encode_frame(FrameType::exit, 5, "") +
                           encode_frame(FrameType::stdout_data, 6, std::string("\0\n\r", 3));
  FrameDecoder d = host_decoder();
  std::vector<Frame> got;
  for (char c : wire) {
    d.feed(std::string_view(&c, 1));
    while (auto f = d.next()) got.push_back(std::move(*f));
  }
  ASSERT_TRUE(d.error().empty()) << d.error();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, FrameType::stderr_data);
  EXPECT_EQ(got[0].stream, 5);
  EXPECT_EQ(got[0].payload, payload);
  EXPECT_EQ(got[1].type, FrameType::exit);
  EXPECT_EQ(got[1].payload, "");
  EXPECT_EQ(got[2].payload, std::string("\0\n\r", 3));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(ChannelFrame, RandomCutsGiveTheSameFrames) {
  std::mt19937 rng(42);
  std::string wire;
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    std::string p(rng() % 5000, '\0');
    for (auto& c : p) c = static_cast<char>(rng());
    sent.push_back(p);
    wire += encode_frame(FrameType::stdout_data, 1, p);
  }
  FrameDecoder d = host_decoder();
  std::vector<std::string> got;
  for (std::size_t at = 0; at < wire.size();) {
    const std::size_t n = std::min<std::size_t>(wire.size() - at, rng() % 9000);
    d.feed(std::string_view(wire).substr(at, n));
    at += n;
    while (auto f = d.next()) got.push_back(f->payload);
  }
  EXPECT_EQ(got, sent);
}

TEST(ChannelFrame, OversizedLengthIsAnErrorBeforeAnyPayloadArrives) {
  FrameDecoder d = host_decoder();
  d.feed(std::string("\x01\x00\x10\x00\x81\x00\x00\x00", 8));  // 1 MiB + 1
  EXPECT_FALSE(d.next());
  EXPECT_NE(d.error().find("1048577 bytes"), std::string::npos) << d.error();
  d.feed(encode_frame(FrameType::stdout_data, 0, "x"));
  EXPECT_FALSE(d.next()) << "a broken stream stays broken";
}

TEST(ChannelFrame, NonZeroFlagsAndUnexpectedTypesAreErrors) {
  FrameDecoder flags = host_decoder();
  flags.feed(std::string("\x00\x00\x00\x00\x81\x01\x00\x00", 8));
  EXPECT_FALSE(flags.next());
  EXPECT_NE(flags.error().find("flags"), std::string::npos);

  FrameDecoder type = host_decoder();
  type.feed(encode_frame(FrameType::run, 0, ""));  // host-to-guest only
  EXPECT_FALSE(type.next());
  EXPECT_NE(type.error().find("type 16"), std::string::npos) << type.error();
}

TEST(ChannelFrame, EncodingRefusesPayloadsPastTheLimit) {
  EXPECT_THROW(encode_frame(FrameType::data, 0, std::string(kMaxPayload + 1, 'x')), std::length_error);
  EXPECT_NO_THROW(encode_frame(FrameType::data, 0, std::string(kMaxPayload, 'x')));
}

TEST(ChannelFields, RoundTripAndRepeatedKeys) {
  const FieldList f{{"arg", "a b"}, {"arg", std::string("\0:9:", 4)}, {"env", "K=V"}};
  const auto back = decode_field_list(encode_field_list(f));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, f);
  EXPECT_EQ(first_field(*back, "arg"), "a b");
  EXPECT_FALSE(first_field(*back, "cwd"));
}

TEST(ChannelFields, MalformedIsRejected) {
  for (const char* bad : {"status", "status:", "status:x:exit", "status:9:exit", "Status:4:exit", ":1:x",
                          "status:99999999999:x"})
    EXPECT_FALSE(decode_field_list(bad)) << bad;
  EXPECT_TRUE(decode_field_list(""));
}

}  // namespace
}  // namespace archmatrix::protocol

namespace archmatrix::prepare {
namespace {

// The dependency graph of Debian 6.1 amd64's virtio modules, as their
// .modinfo sections state it.
std::map<std::string, ModuleDep> virtio_deps() {
  return {{"virtio_console", {"a", {"virtio", "virtio_ring"}}},
          {"virtio_pci", {"b", {"virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio", "virtio_ring"}}},
          {"virtio_pci_legacy_dev", {"c", {"virtio"}}},
          {"virtio_pci_modern_dev", {"d", {"virtio"}}},
          {"virtio", {"e", {}}},
          {"virtio_ring", {"f", {"virtio"}}}};
}

TEST(KernelModules, ModinfoDependsIsReadFromTheKoBytes) {
  const std::string ko = std::string("\x7f" "ELF...\0license=GPL\0depends=virtio,virtio_ring,virtio-pci-x\0intree=Y\0", 60);
  const std::vector<std::string> want{"virtio", "virtio_ring", "virtio_pci_x"};
  EXPECT_EQ(modinfo_depends(ko), want);
  EXPECT_TRUE(modinfo_depends(std::string("\0depends=\0", 10)).empty());
  EXPECT_TRUE(modinfo_depends("no modinfo here").empty());
}

TEST(KernelModules, LoadOrderPutsDependenciesFirstAndEachOnce) {
  const auto order = module_load_order(virtio_deps(), {"virtio_pci", "virtio_console"});
  const std::vector<std::string> want{"virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring",
                                      "virtio_pci", "virtio_console"};
  EXPECT_EQ(order, want);
}

TEST(KernelModules, AModuleNotListedIsBuiltIn) {
  const auto order = module_load_order(virtio_deps(), {"virtio_mmio", "virtio_console"});
  const std::vector<std::string> want{"virtio", "virtio_ring", "virtio_console"};
  EXPECT_EQ(order, want);
}

}  // namespace
}  // namespace archmatrix::prepare
