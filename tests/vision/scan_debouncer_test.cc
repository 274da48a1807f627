// The scan debouncer: vote, then debounce, so one scan action is one read.
#include "vision/scan_debouncer.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cartsense::vision {
namespace {

constexpr int kCamera = 2;

BarcodeRead Code(const std::string& gtin) {
  BarcodeRead read;
  read.gtin = gtin;
  read.format = gtin.size() == 8 ? BarcodeFormat::kEan8 : BarcodeFormat::kEan13;
  return read;
}

Timestamp Ms(int64_t ms) { return Timestamp::FromMilliseconds(ms); }

// Feeds 15 fps frames from `from_ms` to `to_ms` (exclusive); `reads_at(t_ms)` says what each
// frame read. Returns every accepted scan.
template <typename ReadsAt>
std::vector<ScannerRead> Feed(ScanDebouncer& debouncer, int64_t from_ms, int64_t to_ms,
                              const ReadsAt& reads_at) {
  std::vector<ScannerRead> out;
  for (int64_t t = from_ms; t < to_ms; t += 67) {
    for (ScannerRead& read : debouncer.AddFrame(Ms(t), kCamera, reads_at(t))) {
      out.push_back(std::move(read));
    }
  }
  return out;
}

TEST(ScanDebouncerTest, CodeHeldInViewForSecondsIsOneRead) {
  ScanDebouncer debouncer;
  const auto reads = Feed(debouncer, 0, 5000,
                          [](int64_t) { return std::vector<BarcodeRead>{Code("7310865004703")}; });
  ASSERT_EQ(reads.size(), 1U);
  EXPECT_EQ(reads[0].gtin, "7310865004703");
  EXPECT_EQ(reads[0].t, Ms(67));  // the second agreeing frame
  EXPECT_EQ(reads[0].camera_id, kCamera);
  EXPECT_EQ(reads[0].format, BarcodeFormat::kEan13);
}

TEST(ScanDebouncerTest, IntermittentDecodesWhileHeldAreOneRead) {
  ScanDebouncer debouncer;
  // Read in one frame of every four (gaps of 200 ms), for three seconds.
  const auto reads = Feed(debouncer, 0, 3000, [](int64_t t) {
    return (t / 67) % 4 == 0 ? std::vector<BarcodeRead>{Code("7310865004703")}
                             : std::vector<BarcodeRead>{};
  });
  EXPECT_EQ(reads.size(), 1U);
}

TEST(ScanDebouncerTest, SecondScanAfterTheCodeLeftIsASecondRead) {
  ScanDebouncer debouncer;
  const auto in_view = [](int64_t t) {
    const bool held = t < 1000 || (t >= 2500 && t < 3500);
    return held ? std::vector<BarcodeRead>{Code("7310865004703")} : std::vector<BarcodeRead>{};
  };
  const auto reads = Feed(debouncer, 0, 5000, in_view);
  ASSERT_EQ(reads.size(), 2U);
  EXPECT_LT(reads[0].t, Ms(1000));
  EXPECT_GE(reads[1].t, Ms(2500));
}

TEST(ScanDebouncerTest, TwoProductsBackToBackAreTwoReads) {
  ScanDebouncer debouncer;
  const auto reads = Feed(debouncer, 0, 3000, [](int64_t t) {
    return std::vector<BarcodeRead>{Code(t < 1500 ? "7310865004703" : "96385074")};
  });
  ASSERT_EQ(reads.size(), 2U);
  EXPECT_EQ(reads[0].gtin, "7310865004703");
  EXPECT_EQ(reads[1].gtin, "96385074");
  EXPECT_EQ(reads[1].format, BarcodeFormat::kEan8);
}

TEST(ScanDebouncerTest, LoneReadIsAcceptedAfterItsWait) {
  ScanDebouncer debouncer;
  // One frame reads the code (a hard case), the others read nothing.
  const auto reads = Feed(debouncer, 0, 1000, [](int64_t t) {
    return t == 335 ? std::vector<BarcodeRead>{Code("7310865004703")} : std::vector<BarcodeRead>{};
  });
  ASSERT_EQ(reads.size(), 1U);
  EXPECT_GE(reads[0].t, Ms(335 + debouncer.params().lone_read_wait_ms));
  EXPECT_LT(reads[0].t, Ms(335 + debouncer.params().lone_read_wait_ms + 67));
}

TEST(ScanDebouncerTest, LoneReadAtTheEndOfAStreamIsAcceptedByFlush) {
  ScanDebouncer debouncer;
  EXPECT_TRUE(debouncer.AddFrame(Ms(100), kCamera, {Code("7310865004703")}).empty());
  EXPECT_TRUE(debouncer.Flush(Ms(200)).empty());  // still waiting
  const auto reads = debouncer.Flush(Ms(100 + debouncer.params().lone_read_wait_ms));
  ASSERT_EQ(reads.size(), 1U);
  EXPECT_EQ(reads[0].t, Ms(400));
  EXPECT_TRUE(debouncer.Flush(Ms(10000)).empty());
}

TEST(ScanDebouncerTest, DeblurredReadNeedsASecondFrame) {
  ScanDebouncer debouncer;
  BarcodeRead deblurred = Code("7310865004703");
  deblurred.from_deblurred = true;
  EXPECT_TRUE(debouncer.AddFrame(Ms(100), kCamera, {deblurred}).empty());
  EXPECT_TRUE(debouncer.Flush(Ms(2000)).empty());  // alone: never a scan
  EXPECT_TRUE(debouncer.AddFrame(Ms(3000), kCamera, {deblurred}).empty());
  const auto reads = debouncer.AddFrame(Ms(3067), kCamera, {deblurred});
  ASSERT_EQ(reads.size(), 1U);  // two frames agree
  EXPECT_EQ(reads[0].t, Ms(3067));
}

TEST(ScanDebouncerTest, MisreadInOneFrameLosesTheVote) {
  ScanDebouncer debouncer;
  const auto reads = Feed(debouncer, 0, 2000, [](int64_t t) {
    if (t == 134) return std::vector<BarcodeRead>{Code("7310865004710")};  // a valid misread
    return t < 800 ? std::vector<BarcodeRead>{Code("7310865004703")} : std::vector<BarcodeRead>{};
  });
  ASSERT_EQ(reads.size(), 1U);
  EXPECT_EQ(reads[0].gtin, "7310865004703");
}

TEST(ScanDebouncerTest, TwoConflictingLoneReadsAreNeitherAccepted) {
  ScanDebouncer debouncer;
  const auto reads = Feed(debouncer, 0, 2000, [](int64_t t) {
    if (t == 134) return std::vector<BarcodeRead>{Code("7310865004703")};
    if (t == 268) return std::vector<BarcodeRead>{Code("7310865004710")};
    return std::vector<BarcodeRead>{};
  });
  EXPECT_TRUE(reads.empty());
}

TEST(ScanDebouncerTest, OneVotePerFrameEvenWhenAFrameReadsTheCodeTwice) {
  ScanDebouncer debouncer;
  // Two copies of one code in a single frame are one vote: not yet a scan.
  EXPECT_TRUE(
      debouncer.AddFrame(Ms(0), kCamera, {Code("7310865004703"), Code("7310865004703")}).empty());
  EXPECT_EQ(debouncer.AddFrame(Ms(67), kCamera, {Code("7310865004703")}).size(), 1U);
}

TEST(ScanDebouncerTest, SameInputSameOutput) {
  const auto run = [] {
    ScanDebouncer debouncer;
    return Feed(debouncer, 0, 6000, [](int64_t t) {
      std::vector<BarcodeRead> reads;
      if ((t / 67) % 3 != 1 && t < 2000) reads.push_back(Code("7310865004703"));
      if (t > 1000 && t < 4000 && (t / 67) % 2 == 0) reads.push_back(Code("96385074"));
      return reads;
    });
  };
  const auto a = run();
  const auto b = run();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].t, b[i].t);
    EXPECT_EQ(a[i].gtin, b[i].gtin);
  }
}

}  // namespace
}  // namespace cartsense::vision
