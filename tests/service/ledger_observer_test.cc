// service::LedgerObserver: what a replay decides goes into the basket ledger in order, a refused
// append is reported rather than dropped, and a ledger whose fold differs from the replay's
// basket is an error.
#include "service/ledger_observer.h"

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace cartsense::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

BasketAction Milk(BasketActionKind kind, int64_t quantity) {
  BasketAction action;
  action.kind = kind;
  action.product_id = "arla-standard-milk";
  action.quantity = quantity;
  action.unit_price_minor = 1590;
  action.event_time = Timestamp::FromMilliseconds(1000);
  return action;
}

// Counts what reaches the next observer.
struct CountingObserver : EvalObserver {
  int actions = 0;
  int prompts = 0;
  int flags = 0;
  void OnAction(const BasketAction&, const basket::Basket&) override { ++actions; }
  void OnPrompt(const ShopperPrompt&, const ShopperAction&) override { ++prompts; }
  void OnFlag(const AuditFlag&) override { ++flags; }
};

class LedgerObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("cartsense_ledger_observer_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto ledger = basket::Ledger::Open((dir_ / "l.sqlite").string(), {"s1", "v", "SEK"});
    ASSERT_TRUE(ledger.ok()) << ledger.status().message();
    ledger_ = std::move(*ledger);
  }
  void TearDown() override {
    ledger_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<basket::Ledger> ledger_;
};

TEST_F(LedgerObserverTest, RecordsEveryDecisionInOrderAndPassesItOn) {
  CountingObserver next;
  LedgerObserver recorder(ledger_.get(), &next);
  basket::Basket billed;
  const BasketAction add = Milk(BasketActionKind::kAdd, 2);
  ASSERT_TRUE(billed.Apply(add).ok());
  recorder.OnAction(add, billed);
  ShopperPrompt prompt;
  prompt.prompt_id = "p1";
  prompt.kind = PromptKind::kPleaseScan;
  prompt.message = "please scan";
  recorder.OnPrompt(prompt, ShopperAction{});
  AuditFlag flag;
  flag.kind = AuditFlagKind::kUnscannedItem;
  flag.product_id = "arla-standard-milk";
  recorder.OnFlag(flag);

  const Status finished = recorder.Finish(billed);
  EXPECT_TRUE(finished.ok()) << finished.message();
  EXPECT_EQ(recorder.appended(), 3);
  ASSERT_EQ(ledger_->records().size(), 3u);
  EXPECT_TRUE(std::holds_alternative<BasketAction>(ledger_->records()[0].entry));
  EXPECT_TRUE(std::holds_alternative<ShopperPrompt>(ledger_->records()[1].entry));
  EXPECT_TRUE(std::holds_alternative<AuditFlag>(ledger_->records()[2].entry));
  EXPECT_EQ(next.actions, 1);
  EXPECT_EQ(next.prompts, 1);
  EXPECT_EQ(next.flags, 1);
}

TEST_F(LedgerObserverTest, AnAppendTheLedgerRefusesIsReportedAndStopsRecording) {
  LedgerObserver recorder(ledger_.get(), nullptr);
  basket::Basket billed;
  // Removing milk that was never added: the ledger refuses it.
  recorder.OnAction(Milk(BasketActionKind::kRemove, 1), billed);
  const BasketAction add = Milk(BasketActionKind::kAdd, 1);
  ASSERT_TRUE(billed.Apply(add).ok());
  recorder.OnAction(add, billed);  // not recorded after the failure
  const Status status = recorder.Finish(billed);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("l.sqlite"));
  EXPECT_EQ(recorder.appended(), 0);
  EXPECT_TRUE(ledger_->records().empty());
}

TEST_F(LedgerObserverTest, ALedgerThatDiffersFromTheReplaysBasketIsAnError) {
  LedgerObserver recorder(ledger_.get(), nullptr);
  basket::Basket billed;
  recorder.OnAction(Milk(BasketActionKind::kAdd, 1), billed);  // billed stays empty
  const Status status = recorder.Finish(billed);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("differs"));
}

TEST(LedgerFileNameTest, KeepsSafeCharactersOnly) {
  EXPECT_EQ(LedgerFileName("sim-random-n10-s3"), "sim-random-n10-s3.sqlite");
  EXPECT_EQ(LedgerFileName("cart-07/2026-11-26T14:32:00Z"), "cart-07_2026-11-26T14_32_00Z.sqlite");
  EXPECT_EQ(LedgerFileName("../../etc/passwd"), ".._.._etc_passwd.sqlite");
  EXPECT_EQ(LedgerFileName(""), "session.sqlite");
  EXPECT_EQ(LedgerFileName(".."), "session.sqlite");
}

}  // namespace
}  // namespace cartsense::service
