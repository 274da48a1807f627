// Records a replay's decisions in a basket ledger, as the cart records its own: every basket
// action, shopper prompt and audit flag the reasoner emits is appended (durably, in emission
// order) to a basket::Ledger, then passed on to another observer (the demo's printer).
//
//   CS_ASSIGN_OR_RETURN(auto ledger, basket::Ledger::Open(path, session, {&catalogue}));
//   service::LedgerObserver recorder(ledger.get(), &printer);
//   CS_ASSIGN_OR_RETURN(SessionRun run, RunSession(evidence, truth, catalogue, options,
//   &recorder)); CS_RETURN_IF_ERROR(recorder.Finish(run.basket));  // the ledger's fold must be
//   that basket
//
// The first append that fails (the ledger refuses an action, the disk fails) stops recording;
// Finish reports it, so a replay never ends with a ledger that silently misses records.
#pragma once

#include <string>

#include "basket/basket.h"
#include "basket/ledger.h"
#include "core/status.h"
#include "service/basket_eval.h"

namespace cartsense::service {

class LedgerObserver : public EvalObserver {
 public:
  // `ledger` is not owned and must outlive this; `next` may be nullptr.
  LedgerObserver(basket::Ledger* ledger, EvalObserver* next) : ledger_(ledger), next_(next) {}

  void OnAction(const BasketAction& action, const basket::Basket& after) override;
  void OnPrompt(const ShopperPrompt& prompt, const ShopperAction& answer) override;
  void OnFlag(const AuditFlag& flag) override;
  void OnModeChange(const std::string& mode, Timestamp t) override;

  // The first failed append, else whether the ledger's basket (the fold of what it holds) equals
  // `billed`, the basket the replay kept in memory.
  Status Finish(const basket::Basket& billed) const;
  int64_t appended() const { return appended_; }

 private:
  void Record(const Result<int64_t>& appended);

  basket::Ledger* ledger_;
  EvalObserver* next_;
  Status status_ = Status::Ok();
  int64_t appended_ = 0;
};

// A file name for a session's ledger: the session id with every character other than ASCII
// letters, digits, '-', '_' and '.' replaced by '_', plus ".sqlite" ("cart-07/s1" ->
// "cart-07_s1.sqlite"; an empty id gives "session.sqlite").
std::string LedgerFileName(const std::string& session_id);

}  // namespace cartsense::service
