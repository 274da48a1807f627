#include "core/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace cartsense {
namespace {

// Units a numeric key may carry, as the suffix of its name.
const std::set<std::string>& KnownUnits() {
  static const std::set<std::string> units = {"ns",  "us",  "ms",    "s",     "min",   "hz",
                                              "g",   "kg",  "mm",    "cm",    "m",     "px",
                                              "deg", "c",   "pct",   "ratio", "sigma", "mps2",
                                              "mib", "kib", "bytes", "cents", "fps",   "counts"};
  return units;
}

std::string TypeName(ConfigSchema::Type type, const std::string& unit) {
  switch (type) {
    case ConfigSchema::Type::kNumber:
      return "a number in " + unit;
    case ConfigSchema::Type::kInteger:
      return "an integer";
    case ConfigSchema::Type::kBool:
      return "true or false";
    case ConfigSchema::Type::kString:
      return "a string";
    case ConfigSchema::Type::kStringList:
      return "a list of strings";
    case ConfigSchema::Type::kSection:
      return "a map of keys";
    case ConfigSchema::Type::kSectionList:
      return "a list of maps";
  }
  return "?";
}

std::string ScalarText(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  return "nothing";
}

std::string LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ")";
}

// Configs are a few levels deep; a deeper tree (or an alias that refers to itself) is an error,
// not a recursion without end in the code that walks it.
constexpr int kMaxConfigDepth = 32;

// Every map key must be a plain scalar (YAML allows lists and maps as keys, "? [a, b]: 1";
// the code reads keys as strings). An error names the line.
Status CheckKeysAreScalars(const YAML::Node& node, const std::string& source, int depth) {
  if (depth > kMaxConfigDepth) {
    return InvalidArgumentError(source + ": nested deeper than " + std::to_string(kMaxConfigDepth) +
                                " levels" + LineOf(node));
  }
  if (node.IsMap()) {
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        return InvalidArgumentError(source + ": a key that is not a plain name" +
                                    LineOf(item.first));
      }
      CS_RETURN_IF_ERROR(CheckKeysAreScalars(item.second, source, depth + 1));
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      CS_RETURN_IF_ERROR(CheckKeysAreScalars(item, source, depth + 1));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Config> Config::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open config file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Parse(buffer.str(), path);
}

Result<Config> Config::Parse(const std::string& text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(source_name + ": not valid YAML at line " +
                                std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    return InvalidArgumentError(source_name + ": the top level must be a map of keys");
  }
  CS_RETURN_IF_ERROR(CheckKeysAreScalars(root, source_name, 0));
  return Config(root, source_name, "");
}

std::string Config::FullKey(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

std::string Config::Where(const std::string& key) const {
  std::string where = source_ + ": key '" + FullKey(key) + "'";
  if (node_.IsMap() && node_[key]) where += LineOf(node_[key]);
  return where;
}

bool Config::Has(const std::string& key) const {
  return node_.IsMap() && node_[key] && !node_[key].IsNull();
}

std::vector<std::string> Config::Keys() const {
  std::vector<std::string> keys;
  if (!node_.IsMap()) return keys;
  for (const auto& item : node_) keys.push_back(item.first.as<std::string>());
  return keys;
}

Result<YAML::Node> Config::Lookup(const std::string& key) const {
  if (!Has(key)) return NotFoundError(Where(key) + ": missing");
  return node_[key];
}

Status Config::TypeError(const std::string& key, const std::string& expected) const {
  return InvalidArgumentError(Where(key) + ": expected " + expected + ", got " +
                              ScalarText(node_[key]));
}

Result<double> Config::GetDouble(const std::string& key) const {
  CS_ASSIGN_OR_RETURN(YAML::Node node, Lookup(key));
  double value = 0;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || !std::isfinite(value)) {
    return TypeError(key, "a finite number");
  }
  return value;
}

Result<int64_t> Config::GetInt(const std::string& key) const {
  CS_ASSIGN_OR_RETURN(YAML::Node node, Lookup(key));
  int64_t value = 0;
  if (!node.IsScalar() || !YAML::convert<int64_t>::decode(node, value)) {
    return TypeError(key, "an integer");
  }
  return value;
}

Result<bool> Config::GetBool(const std::string& key) const {
  CS_ASSIGN_OR_RETURN(YAML::Node node, Lookup(key));
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    return TypeError(key, "true or false");
  }
  return value;
}

Result<std::string> Config::GetString(const std::string& key) const {
  CS_ASSIGN_OR_RETURN(YAML::Node node, Lookup(key));
  if (!node.IsScalar()) return TypeError(key, "a string");
  return node.Scalar();
}

Result<std::vector<std::string>> Config::GetStringList(const std::string& key) const {
  CS_ASSIGN_OR_RETURN(YAML::Node node, Lookup(key));
  if (!node.IsSequence()) return TypeError(key, "a list of strings");
  std::vector<std::string> items;
  for (const auto& item : node) {
    if (!item.IsScalar()) return TypeError(key, "a list of strings");
    items.push_back(item.Scalar());
  }
  return items;
}

Result<Config> Config::Section(const std::string& key) const {
  CS_ASSIGN_OR_RETURN(YAML::Node node, Lookup(key));
  if (!node.IsMap()) return TypeError(key, "a map of keys");
  return Config(node, source_, FullKey(key));
}

Result<std::vector<Config>> Config::SectionList(const std::string& key) const {
  CS_ASSIGN_OR_RETURN(YAML::Node node, Lookup(key));
  if (!node.IsSequence()) return TypeError(key, "a list of maps");
  std::vector<Config> items;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string item_path = FullKey(key) + "[" + std::to_string(i) + "]";
    if (!node[i].IsMap()) {
      return InvalidArgumentError(source_ + ": key '" + item_path + "'" + LineOf(node[i]) +
                                  ": expected a map of keys, got " + ScalarText(node[i]));
    }
    items.push_back(Config(node[i], source_, item_path));
  }
  return items;
}

std::string Config::ToYaml() const {
  YAML::Emitter out;
  out << node_;
  return out.c_str();
}

ConfigSchema::Field& ConfigSchema::Add(const std::string& key, Type type, const std::string& unit) {
  Field field;
  field.key_ = key;
  field.type_ = type;
  field.unit_ = unit;
  fields_.push_back(std::move(field));
  return fields_.back();
}

ConfigSchema::Field& ConfigSchema::Number(const std::string& key, const std::string& unit) {
  if (!KnownUnits().contains(unit)) {
    schema_errors_.push_back("key '" + key + "' has unknown unit '" + unit + "'");
  } else if (!key.ends_with("_" + unit)) {
    schema_errors_.push_back("key '" + key + "' must end with its unit suffix '_" + unit + "'");
  }
  return Add(key, Type::kNumber, unit);
}
ConfigSchema::Field& ConfigSchema::Integer(const std::string& key) {
  return Add(key, Type::kInteger, "");
}
ConfigSchema::Field& ConfigSchema::Bool(const std::string& key) {
  return Add(key, Type::kBool, "");
}
ConfigSchema::Field& ConfigSchema::String(const std::string& key) {
  return Add(key, Type::kString, "");
}
ConfigSchema::Field& ConfigSchema::StringList(const std::string& key) {
  return Add(key, Type::kStringList, "");
}
ConfigSchema::Field& ConfigSchema::Section(const std::string& key) {
  return Add(key, Type::kSection, "");
}
ConfigSchema::Field& ConfigSchema::SectionList(const std::string& key) {
  return Add(key, Type::kSectionList, "");
}

Status ConfigSchema::Validate(Config& config) const {
  if (!schema_errors_.empty()) return InternalError("bad config schema: " + schema_errors_.front());
  const auto find = [this](const std::string& key) -> const Field* {
    for (const Field& f : fields_) {
      if (f.key_ == key) return &f;
    }
    return nullptr;
  };
  for (const std::string& key : config.Keys()) {
    if (find(key) == nullptr) {
      std::string known;
      for (const Field& f : fields_) known += (known.empty() ? "" : ", ") + f.key_;
      return InvalidArgumentError(config.Where(key) + ": unknown key (known keys: " + known + ")");
    }
  }
  for (const Field& field : fields_) {
    const std::string& key = field.key_;
    if (!config.Has(key)) {
      if (field.required_) {
        return InvalidArgumentError(config.Where(key) + ": required, expected " +
                                    TypeName(field.type_, field.unit_));
      }
      if (field.default_) config.Set(key, *field.default_);
      continue;
    }
    const std::string expected = TypeName(field.type_, field.unit_);
    std::optional<double> numeric;
    switch (field.type_) {
      case Type::kNumber: {
        auto value = config.GetDouble(key);
        if (!value.ok()) return config.TypeError(key, expected);
        numeric = *value;
        break;
      }
      case Type::kInteger: {
        auto value = config.GetInt(key);
        if (!value.ok()) return config.TypeError(key, expected);
        numeric = static_cast<double>(*value);
        break;
      }
      case Type::kBool:
        if (!config.GetBool(key).ok()) return config.TypeError(key, expected);
        break;
      case Type::kString: {
        auto value = config.GetString(key);
        if (!value.ok()) return config.TypeError(key, expected);
        if (!field.choices_.empty() && std::find(field.choices_.begin(), field.choices_.end(),
                                                 *value) == field.choices_.end()) {
          std::string choices;
          for (const auto& c : field.choices_) choices += (choices.empty() ? "" : ", ") + c;
          return InvalidArgumentError(config.Where(key) + ": expected one of " + choices +
                                      ", got '" + *value + "'");
        }
        break;
      }
      case Type::kStringList:
        if (!config.GetStringList(key).ok()) return config.TypeError(key, expected);
        break;
      case Type::kSection:
        if (!config.Section(key).ok()) return config.TypeError(key, expected);
        break;
      case Type::kSectionList: {
        auto items = config.SectionList(key);
        if (!items.ok()) return items.status();
        break;
      }
    }
    if (numeric &&
        ((field.min_ && *numeric < *field.min_) || (field.max_ && *numeric > *field.max_))) {
      std::ostringstream range;
      range << "expected " << expected << " between " << *field.min_ << " and " << *field.max_;
      range << ", got " << *numeric;
      return OutOfRangeError(config.Where(key) + ": " + range.str());
    }
  }
  return Status::Ok();
}

std::string ConfigSchema::Describe() const {
  std::ostringstream out;
  for (const Field& f : fields_) {
    out << "  " << f.key_ << ": " << TypeName(f.type_, f.unit_);
    if (f.min_) out << " in [" << *f.min_ << ", " << *f.max_ << "]";
    if (f.required_) out << " (required)";
    if (f.default_ && f.default_->IsScalar()) out << " (default " << f.default_->Scalar() << ")";
    if (!f.description_.empty()) out << ": " << f.description_;
    out << "\n";
  }
  return out.str();
}

}  // namespace cartsense
