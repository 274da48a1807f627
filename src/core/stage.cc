#include "core/stage.h"

namespace cartsense {

Status StageRegistry::Register(const std::string& type_name, Factory factory,
                               std::string description) {
  if (type_name.empty()) return InvalidArgumentError("stage type name is empty");
  if (!factory) return InvalidArgumentError("stage type '" + type_name + "' has no factory");
  auto [it, inserted] =
      factories_.try_emplace(type_name, Entry{std::move(factory), std::move(description)});
  if (!inserted) return AlreadyExistsError("stage type '" + type_name + "' is already registered");
  return Status::Ok();
}

Result<std::unique_ptr<Stage>> StageRegistry::Create(const std::string& type_name) const {
  const auto it = factories_.find(type_name);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& [name, entry] : factories_) known += (known.empty() ? "" : ", ") + name;
    return NotFoundError("unknown stage type '" + type_name +
                         "' (registered: " + (known.empty() ? "none" : known) + ")");
  }
  std::unique_ptr<Stage> stage = it->second.factory();
  if (!stage) return InternalError("factory of stage type '" + type_name + "' returned null");
  return stage;
}

std::vector<std::string> StageRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : factories_) names.push_back(name);
  return names;
}

std::string StageRegistry::Description(const std::string& type_name) const {
  const auto it = factories_.find(type_name);
  return it == factories_.end() ? "" : it->second.description;
}

}  // namespace cartsense
