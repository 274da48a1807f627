// Simulated sessions end to end: every scenario writes a session that validates and whose truth
// matches what was scheduled; the same seed gives byte-identical files.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "catalog/catalogue.h"
#include "session/session_reader.h"
#include "sim/session_simulator.h"

namespace cartsense::sim {
namespace {

namespace fs = std::filesystem;
const std::string kRepo = CARTSENSE_SOURCE_DIR;

struct Fixture {
  catalog::Catalogue catalogue;
  ProductImages images;
};

const Fixture& Data() {
  static const Fixture fixture{
      catalog::Catalogue::Load(kRepo + "/data/catalogue/grocery-store-81.csv").value(),
      ProductImages::Load(kRepo + "/data/grocery-store-mini/dev.txt").value()};
  return fixture;
}

std::string TempDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("cartsense-sim-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir.string();
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// `fps` below the cameras' 15 keeps the sanitizer build fast; frame timing is not under test.
Result<SimSummary> Simulate(const std::string& scenario, int items, uint64_t seed,
                            const std::string& dir, double fps = 15) {
  SimOptions options;
  options.basket_fps = fps;
  options.scanner_fps = fps;
  options.plan.scenario = scenario;
  options.plan.items = items;
  options.plan.seed = seed;
  options.out_dir = dir;
  options.images_label = "grocery-store-mini/dev.txt";
  return SimulateSession(options, Data().catalogue, Data().images);
}

TEST(SimSessionTest, EveryScenarioWritesAValidSessionWithMatchingTruth) {
  for (const ScenarioInfo& info : Scenarios()) {
    const std::string dir = TempDir(info.name);
    auto summary = Simulate(info.name, info.name == "random" ? 4 : 2, 21, dir, 4);
    ASSERT_TRUE(summary.ok()) << info.name << ": " << summary.status().ToString();
    auto reader = session::SessionReader::Open(dir);
    ASSERT_TRUE(reader.ok()) << info.name << ": " << reader.status().ToString();
    auto streams = reader->Validate();
    ASSERT_TRUE(streams.ok()) << info.name << ": " << streams.status().ToString();
    EXPECT_EQ(reader->manifest().origin, "simulated");
    EXPECT_EQ(reader->manifest().cameras.size(), 3U);
    EXPECT_GT(summary->basket_frames, 0) << info.name;

    auto truth_text = reader->ReadTruth();
    ASSERT_TRUE(truth_text.ok());
    const nlohmann::json truth = nlohmann::json::parse(*truth_text);
    // The final basket is what was placed minus what was removed, product by product.
    std::map<std::string, int> expected;
    for (const auto& action : truth["actions"]) {
      EXPECT_GE(action["t_ns"].get<int64_t>(), reader->manifest().start.ns);
      EXPECT_LE(action["t_ns"].get<int64_t>(), reader->manifest().end.ns);
      const std::string product = action["product_id"];
      if (product.empty()) continue;
      if (action["kind"] == "place") expected[product] += action["details"]["pieces"].get<int>();
      if (action["kind"] == "remove") expected[product] -= 1;
    }
    std::map<std::string, int> final_basket;
    for (const auto& line : truth["final_basket"]) {
      final_basket[line["product_id"]] = line["quantity"].get<int>();
      ASSERT_NE(Data().catalogue.FindById(line["product_id"].get<std::string>()), nullptr);
    }
    for (auto it = expected.begin(); it != expected.end();) {
      it = it->second == 0 ? expected.erase(it) : std::next(it);
    }
    EXPECT_EQ(final_basket, expected) << info.name;
    // Scans on the scanner camera: frames exist when scans were scheduled.
    if (summary->scans > 0) {
      EXPECT_GT(summary->scanner_frames, 0) << info.name;
    }
    fs::remove_all(dir);
  }
}

TEST(SimSessionTest, SameSeedGivesByteIdenticalFiles) {
  const std::string a = TempDir("det-a");
  const std::string b = TempDir("det-b");
  ASSERT_TRUE(Simulate("random", 3, 99, a).ok());
  ASSERT_TRUE(Simulate("random", 3, 99, b).ok());
  std::set<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (entry.is_regular_file()) files.insert(fs::relative(entry.path(), a).string());
  }
  ASSERT_GT(files.size(), 10U);
  for (const std::string& file : files) {
    ASSERT_TRUE(fs::exists(fs::path(b) / file)) << file;
    EXPECT_EQ(ReadAll(fs::path(a) / file), ReadAll(fs::path(b) / file)) << file;
  }
  // A different seed gives a different session.
  const std::string c = TempDir("det-c");
  ASSERT_TRUE(Simulate("random", 3, 100, c, 2).ok());
  EXPECT_NE(ReadAll(fs::path(a) / "truth.json"), ReadAll(fs::path(c) / "truth.json"));
  fs::remove_all(a);
  fs::remove_all(b);
  fs::remove_all(c);
}

TEST(SimSessionTest, RefusesAnUnknownScenarioAndASplitWithNoKnownProduct) {
  EXPECT_FALSE(Simulate("no_such_scenario", 3, 1, TempDir("bad")).ok());
  auto images = ProductImages::Parse("x.jpg, 500, 0\n", "/", "split");
  ASSERT_TRUE(images.ok());
  SimOptions options;
  options.out_dir = TempDir("unknown-products");
  EXPECT_FALSE(SimulateSession(options, Data().catalogue, *images).ok());
}

}  // namespace
}  // namespace cartsense::sim
