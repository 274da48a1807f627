#include "core/config.h"

#include <fstream>

#include <gtest/gtest.h>

namespace cartsense {
namespace {

ConfigSchema WeighSchema() {
  ConfigSchema schema;
  schema.Number("settle_window_ms", "ms").Range(50, 5000).Default(300);
  schema.Number("min_item_g", "g").Range(0, 1000).Required();
  schema.Integer("threads").Range(1, 64).Default(1);
  schema.String("mode").OneOf({"live", "replay"}).Default("live");
  schema.Bool("imu_enabled").Default(YAML::Node(false));
  return schema;
}

Config MustParse(const std::string& text) {
  auto config = Config::Parse(text, "cart.yaml");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : Config();
}

TEST(ConfigTest, ValidConfigGetsDefaults) {
  Config config = MustParse("min_item_g: 10\nthreads: 2\n");
  ASSERT_TRUE(WeighSchema().Validate(config).ok());
  EXPECT_DOUBLE_EQ(*config.GetDouble("settle_window_ms"), 300.0);
  EXPECT_DOUBLE_EQ(*config.GetDouble("min_item_g"), 10.0);
  EXPECT_EQ(*config.GetInt("threads"), 2);
  EXPECT_EQ(*config.GetString("mode"), "live");
  EXPECT_FALSE(*config.GetBool("imu_enabled"));
}

TEST(ConfigTest, MissingRequiredKeyNamesKeyAndUnit) {
  Config config = MustParse("threads: 2\n");
  Status s = WeighSchema().Validate(config);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "cart.yaml: key 'min_item_g': required, expected a number in g");
}

TEST(ConfigTest, WrongTypeNamesKeyUnitAndLine) {
  Config config = MustParse("min_item_g: 10\nsettle_window_ms: soon\n");
  Status s = WeighSchema().Validate(config);
  EXPECT_EQ(s.message(),
            "cart.yaml: key 'settle_window_ms' (line 2): expected a number in ms, got 'soon'");
}

TEST(ConfigTest, OutOfRangeNamesBounds) {
  Config config = MustParse("min_item_g: 10\nsettle_window_ms: 20000\n");
  Status s = WeighSchema().Validate(config);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(),
            "cart.yaml: key 'settle_window_ms' (line 2): expected a number in ms between 50 and "
            "5000, got 20000");
}

TEST(ConfigTest, UnknownKeyIsAnError) {
  Config config = MustParse("min_item_g: 10\nsettle_window: 300\n");
  Status s = WeighSchema().Validate(config);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("key 'settle_window' (line 2): unknown key"), std::string::npos);
}

TEST(ConfigTest, ChoiceAndBoolErrors) {
  Config bad_choice = MustParse("min_item_g: 1\nmode: turbo\n");
  EXPECT_EQ(WeighSchema().Validate(bad_choice).message(),
            "cart.yaml: key 'mode' (line 2): expected one of live, replay, got 'turbo'");
  Config bad_bool = MustParse("min_item_g: 1\nimu_enabled: maybe\n");
  EXPECT_EQ(WeighSchema().Validate(bad_bool).message(),
            "cart.yaml: key 'imu_enabled' (line 2): expected true or false, got 'maybe'");
  Config bad_int = MustParse("min_item_g: 1\nthreads: 1.5\n");
  EXPECT_EQ(WeighSchema().Validate(bad_int).message(),
            "cart.yaml: key 'threads' (line 2): expected an integer, got '1.5'");
}

TEST(ConfigTest, NestedSectionsCarryTheirPath) {
  Config config = MustParse("weigh:\n  min_item_g: 10\n  settle_window_ms: [1, 2]\n");
  auto weigh = config.Section("weigh");
  ASSERT_TRUE(weigh.ok());
  Status s = WeighSchema().Validate(*weigh);
  EXPECT_EQ(
      s.message(),
      "cart.yaml: key 'weigh.settle_window_ms' (line 3): expected a number in ms, got a list");
}

TEST(ConfigTest, SectionListItemsAreNamed) {
  Config config = MustParse("stages:\n  - name: a\n  - 7\n");
  auto items = config.SectionList("stages");
  EXPECT_EQ(items.status().message(),
            "cart.yaml: key 'stages[1]' (line 3): expected a map of keys, got '7'");
}

TEST(ConfigTest, MalformedYamlGivesLine) {
  auto config = Config::Parse("a: 1\nb: [1, 2\n", "bad.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("bad.yaml: not valid YAML at line"), std::string::npos);
  auto not_a_map = Config::Parse("- 1\n- 2\n", "list.yaml");
  EXPECT_EQ(not_a_map.status().message(), "list.yaml: the top level must be a map of keys");
}

// Found by fuzz_config: a list or map used as a key threw from Keys() (a string is read).
TEST(ConfigTest, KeysThatAreNotPlainNamesAreRejectedWithTheirLine) {
  auto complex_key = Config::Parse("a: 1\nb:\n  ? [x, y]\n  : 2\n", "keys.yaml");
  ASSERT_FALSE(complex_key.ok());
  EXPECT_NE(
      complex_key.status().message().find("keys.yaml: a key that is not a plain name (line 3)"),
      std::string::npos)
      << complex_key.status().ToString();
  auto in_a_list = Config::Parse("stages:\n  - {? {k: v} : 1}\n", "keys.yaml");
  EXPECT_FALSE(in_a_list.ok());
}

TEST(ConfigTest, TreesDeeperThanAnyConfigAreRejected) {
  std::string deep = "a: ";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  auto config = Config::Parse(deep + "\n", "deep.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("nested deeper than 32 levels"), std::string::npos)
      << config.status().ToString();
  std::string shallow = "a: ";
  for (int i = 0; i < 8; ++i) shallow += "{b: ";
  for (int i = 0; i < 8; ++i) shallow += "}";
  EXPECT_TRUE(Config::Parse(shallow + "\n", "shallow.yaml").ok());
}

TEST(ConfigTest, NonFiniteNumbersAreRejected) {
  Config config = MustParse("min_item_g: .nan\n");
  EXPECT_EQ(WeighSchema().Validate(config).message(),
            "cart.yaml: key 'min_item_g' (line 1): expected a number in g, got '.nan'");
}

TEST(ConfigTest, SchemaInsistsOnUnitSuffix) {
  ConfigSchema schema;
  schema.Number("settle_window", "ms");
  Config config = MustParse("{}");
  Status s = schema.Validate(config);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("must end with its unit suffix '_ms'"), std::string::npos);
  ConfigSchema unknown_unit;
  unknown_unit.Number("speed_furlongs", "furlongs");
  EXPECT_EQ(unknown_unit.Validate(config).code(), StatusCode::kInternal);
}

TEST(ConfigTest, LoadFileReportsMissingFile) {
  auto config = Config::LoadFile("/nonexistent/cart.yaml");
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(config.status().message(), "cannot open config file /nonexistent/cart.yaml");

  const std::string path = testing::TempDir() + "/config_test.yaml";
  std::ofstream(path) << "min_item_g: 5\n";
  auto loaded = Config::LoadFile(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->source(), path);
}

TEST(ConfigTest, DescribeListsKeys) {
  const std::string text = WeighSchema().Describe();
  EXPECT_NE(text.find("settle_window_ms: a number in ms in [50, 5000] (default 300)"),
            std::string::npos);
  EXPECT_NE(text.find("min_item_g: a number in g in [0, 1000] (required)"), std::string::npos);
}

}  // namespace
}  // namespace cartsense
