// Configuration: YAML files read into a tree, validated against a schema whose errors name the
// key, the expected type and unit, and the line. Keys carry their unit in their name
// (`settle_window_ms`, `min_item_g`, `queue_capacity`), and the schema checks that they do.
//
//   ConfigSchema schema;
//   schema.Number("settle_window_ms", "ms").Range(50, 5000).Default(300);
//   schema.Integer("threads").Range(1, 64).Default(1);
//   schema.String("model_dir").Required();
//   CS_ASSIGN_OR_RETURN(Config config, Config::LoadFile("cart.yaml"));
//   CS_ASSIGN_OR_RETURN(Config weigh, config.Section("weigh"));
//   CS_RETURN_IF_ERROR(schema.Validate(weigh));
//   double settle_window_ms = weigh.GetDouble("settle_window_ms").value();  // default applied
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/status.h"

namespace cartsense {

class ConfigSchema;

// A node of a YAML configuration, with the path that leads to it ("pipeline.stages[2].config")
// and the file it came from, so every error can say where.
class Config {
 public:
  Config() : node_(YAML::NodeType::Map) {}
  static Result<Config> LoadFile(const std::string& path);
  static Result<Config> Parse(const std::string& text, const std::string& source_name = "<string>");

  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }
  // "cart.yaml: key 'weigh.settle_window_ms' (line 4)".
  std::string Where(const std::string& key) const;

  bool Has(const std::string& key) const;
  std::vector<std::string> Keys() const;
  bool IsMap() const { return node_.IsMap(); }

  Result<double> GetDouble(const std::string& key) const;
  Result<int64_t> GetInt(const std::string& key) const;
  Result<bool> GetBool(const std::string& key) const;
  Result<std::string> GetString(const std::string& key) const;
  Result<std::vector<std::string>> GetStringList(const std::string& key) const;
  // A map below this one, e.g. config.Section("weigh").
  Result<Config> Section(const std::string& key) const;
  // The items of a list of maps, e.g. "stages".
  Result<std::vector<Config>> SectionList(const std::string& key) const;

  // Sets a value (used to apply schema defaults and by tests).
  void Set(const std::string& key, const YAML::Node& value) { node_[key] = value; }
  const YAML::Node& node() const { return node_; }
  std::string ToYaml() const;

 private:
  // YAML::Node has no move constructor: take it by reference.
  Config(const YAML::Node& node, std::string source, std::string path)
      : node_(node), source_(std::move(source)), path_(std::move(path)) {}
  std::string FullKey(const std::string& key) const;
  Result<YAML::Node> Lookup(const std::string& key) const;
  Status TypeError(const std::string& key, const std::string& expected) const;

  YAML::Node node_;
  std::string source_ = "<empty>";
  std::string path_;

  friend class ConfigSchema;
};

// What keys a config section may have. Validate() rejects unknown keys (a typo is an error, not
// a silently ignored setting), missing required keys, wrong types and values out of range, and
// writes the defaults of absent keys into the config.
class ConfigSchema {
 public:
  enum class Type { kNumber, kInteger, kBool, kString, kStringList, kSection, kSectionList };

  class Field {
   public:
    Field& Required() {
      required_ = true;
      return *this;
    }
    Field& Range(double min, double max) {
      min_ = min;
      max_ = max;
      return *this;
    }
    Field& Default(const YAML::Node& value) {
      default_ = value;
      return *this;
    }
    Field& Default(double value) {
      default_ = YAML::Node(value);
      return *this;
    }
    Field& Default(const char* value) {
      default_ = YAML::Node(std::string(value));
      return *this;
    }
    Field& OneOf(std::vector<std::string> choices) {
      choices_ = std::move(choices);
      return *this;
    }
    Field& Describe(std::string text) {
      description_ = std::move(text);
      return *this;
    }

   private:
    friend class ConfigSchema;
    std::string key_;
    Type type_ = Type::kNumber;
    std::string unit_;
    bool required_ = false;
    std::optional<double> min_, max_;
    std::optional<YAML::Node> default_;
    std::vector<std::string> choices_;
    std::string description_;
  };

  // A number with a unit. The key must end with the unit's suffix ("_ms" for "ms"); the units
  // known are listed in config.cc. Use unit "" only for dimensionless ratios ("_ratio").
  Field& Number(const std::string& key, const std::string& unit);
  Field& Integer(const std::string& key);
  Field& Bool(const std::string& key);
  Field& String(const std::string& key);
  Field& StringList(const std::string& key);
  // A nested map; validated by whoever reads it (e.g. a stage's own schema).
  Field& Section(const std::string& key);
  Field& SectionList(const std::string& key);

  // Validates and fills in defaults. The first problem found is returned; keys are checked in
  // the file's order so the message points at the first bad line.
  Status Validate(Config& config) const;

  // Human-readable list of the keys, for --help and docs.
  std::string Describe() const;

 private:
  Field& Add(const std::string& key, Type type, const std::string& unit);
  std::vector<Field> fields_;
  std::vector<std::string> schema_errors_;
};

}  // namespace cartsense
