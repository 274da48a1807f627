// Scan evaluation on the checked-in simulated demo session (data/demo-session: 4 scans, none a
// hard case): every scan read within 1 s, once.
#include "vision/scan_eval.h"

#include <string>

#include <gtest/gtest.h>

namespace cartsense::vision {
namespace {

const std::string kRepo = CARTSENSE_SOURCE_DIR;

TEST(ScanEvalTest, DemoSessionScansAreEachReadOnceWithinASecond) {
  const auto counts = EvaluateScanSession(kRepo + "/data/demo-session/session");
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->scan_actions, 4);
  EXPECT_EQ(counts->read_within_1s, 4);
  EXPECT_EQ(counts->duplicate_reads, 0);
  EXPECT_EQ(counts->wrong_reads, 0);
  EXPECT_TRUE(counts->missed.empty());
  EXPECT_GT(counts->frames, 0);
  EXPECT_DOUBLE_EQ(counts->read_rate(), 1.0);
}

TEST(ScanEvalTest, StrictDebouncerMissesLoneReadsAndSaysWhich) {
  // Ten votes needed within 100 ms: no scan can reach that, so every action is missed and listed.
  ScanDebouncerParams strict;
  strict.min_votes = 10;
  strict.vote_window_ms = 100;
  strict.lone_read_wait_ms = 100000;
  const auto counts = EvaluateScanSession(kRepo + "/data/demo-session/session", {}, strict);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->read_within_1s, 0);
  EXPECT_EQ(counts->missed.size(), 4U);
}

TEST(ScanEvalTest, MissingSessionIsAnError) {
  const auto counts = EvaluateScanSession("/nonexistent/session");
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.status().message().find("/nonexistent/session"), std::string::npos);
}

}  // namespace
}  // namespace cartsense::vision
