// truth.json parsing (session/session_truth.h): the simulator's file, and malformed files.
#include "session/session_truth.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace cartsense::session {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SessionTruthTest, ReadsTheDemoSessionsTruth) {
  const std::string path =
      std::string(CARTSENSE_SOURCE_DIR) + "/data/demo-session/session/truth.json";
  Result<SessionTruth> truth = ParseTruth(ReadFile(path), path);
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  ASSERT_FALSE(truth->events.empty());
  ASSERT_EQ(truth->final_basket.size(), 10u);
  int places = 0;
  int personal = 0;
  for (std::size_t i = 1; i < truth->events.size(); ++i) {
    EXPECT_LE(truth->events[i - 1].t, truth->events[i].t);
  }
  for (const TruthEvent& event : truth->events) {
    if (event.kind != "place") continue;
    ++places;
    if (event.personal) {
      ++personal;
      EXPECT_TRUE(event.product_id.empty());
    }
    EXPECT_GT(event.mass_g, 0);
    EXPECT_GE(event.pieces, 1);
  }
  EXPECT_GE(places, 10);
  EXPECT_EQ(personal, 1);                    // the bag of seed 3
  EXPECT_EQ(truth->personal_items_left, 1);  // and it stays in
}

TEST(SessionTruthTest, ReadsSettleAndScannedDetails) {
  Result<SessionTruth> truth = ParseTruth(
      R"({"actions":[
           {"t_ns":3000000000,"kind":"place","product_id":"lime","behaviour":"produce_weighed",
            "details":{"mass_g":75.5,"pieces":2,"scanned":false,"settle_s":3.25}},
           {"t_ns":1000000000,"kind":"scan","product_id":"oat","behaviour":"scan_then_place",
            "details":{"gtin":"2000100000465"}}],
          "final_basket":[{"product_id":"lime","quantity":2,"mass_g":75.5}],
          "personal_items":[]})",
      "inline");
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  ASSERT_EQ(truth->events.size(), 2u);
  EXPECT_EQ(truth->events[0].kind, "scan");  // sorted by time
  const TruthEvent& place = truth->events[1];
  EXPECT_EQ(place.pieces, 2);
  EXPECT_DOUBLE_EQ(place.mass_g, 75.5);
  EXPECT_FALSE(place.scanned);
  EXPECT_FALSE(place.personal);
  ASSERT_TRUE(place.settle.has_value());
  EXPECT_EQ(place.settle->ns, 3'250'000'000);
  EXPECT_EQ(truth->final_basket[0].quantity, 2);
}

TEST(SessionTruthTest, RejectsMalformedFiles) {
  const char* bad[] = {
      "",
      "[]",
      "{",
      R"({"final_basket":[]})",
      R"({"actions":{},"final_basket":[]})",
      R"({"actions":[{"kind":"place"}],"final_basket":[]})",
      R"({"actions":[{"t_ns":"5","kind":"place"}],"final_basket":[]})",
      R"({"actions":[{"t_ns":-1,"kind":"place"}],"final_basket":[]})",
      R"({"actions":[{"t_ns":1,"kind":"place","details":{"pieces":0}}],"final_basket":[]})",
      R"({"actions":[{"t_ns":1,"kind":"place","details":{"pieces":1e300}}],"final_basket":[]})",
      R"({"actions":[{"t_ns":1,"kind":"place","details":{"settle_s":-2}}],"final_basket":[]})",
      R"({"actions":[{"t_ns":1,"kind":"place","details":{"mass_g":"heavy"}}],"final_basket":[]})",
      R"({"actions":[]})",
      R"({"actions":[],"final_basket":[{"product_id":"a"}]})",
      R"({"actions":[],"final_basket":[{"product_id":"a","quantity":-3}]})",
  };
  for (const char* text : bad) {
    Result<SessionTruth> truth = ParseTruth(text, "bad.json");
    ASSERT_FALSE(truth.ok()) << text;
    EXPECT_NE(truth.status().message().find("bad.json"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace cartsense::session
