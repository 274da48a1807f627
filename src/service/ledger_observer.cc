#include "service/ledger_observer.h"

namespace cartsense::service {

// Called only while status_ is OK (the callers append nothing after a failure).
void LedgerObserver::Record(const Result<int64_t>& appended) {
  if (appended.ok()) {
    ++appended_;
  } else {
    status_ = appended.status().WithContext("basket ledger " + ledger_->path());
  }
}

void LedgerObserver::OnAction(const BasketAction& action, const basket::Basket& after) {
  if (status_.ok()) Record(ledger_->Append(action));
  if (next_ != nullptr) next_->OnAction(action, after);
}

void LedgerObserver::OnPrompt(const ShopperPrompt& prompt, const ShopperAction& answer) {
  if (status_.ok()) Record(ledger_->Append(prompt));
  if (next_ != nullptr) next_->OnPrompt(prompt, answer);
}

void LedgerObserver::OnFlag(const AuditFlag& flag) {
  if (status_.ok()) Record(ledger_->Append(flag));
  if (next_ != nullptr) next_->OnFlag(flag);
}

void LedgerObserver::OnModeChange(const std::string& mode, Timestamp t) {
  if (next_ != nullptr) next_->OnModeChange(mode, t);
}

Status LedgerObserver::Finish(const basket::Basket& billed) const {
  if (!status_.ok()) return status_;
  if (!(ledger_->basket() == billed)) {
    return InternalError("basket ledger " + ledger_->path() +
                         ": its basket differs from the replay's (" +
                         std::to_string(ledger_->basket().item_count()) + " items against " +
                         std::to_string(billed.item_count()) + ")");
  }
  return Status::Ok();
}

std::string LedgerFileName(const std::string& session_id) {
  std::string name;
  for (const char c : session_id) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    name += keep ? c : '_';
  }
  if (name.empty() || name == "." || name == "..") name = "session";
  return name + ".sqlite";
}

}  // namespace cartsense::service
