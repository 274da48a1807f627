#include "basket/ledger.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ledger_workload.h"

namespace cartsense::basket {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const LedgerSession kSession{"cart-07/session-1", "catalogue-sha256", "SEK"};

BasketAction AddMilk(int64_t quantity) {
  BasketAction action;
  action.kind = BasketActionKind::kAdd;
  action.product_id = "arla-standard-milk";
  action.quantity = quantity;
  action.unit_price_minor = 1590;
  action.probability = 0.97;
  action.evidence_ids = {"scan:3", "weight:4"};
  action.event_time = Timestamp::FromMilliseconds(12'345);
  return action;
}

BasketAction AddApples(double grams) {
  BasketAction action;
  action.kind = BasketActionKind::kAdd;
  action.product_id = "granny-smith";
  action.priced_by = PricedBy::kWeight;
  action.quantity = 1;
  action.net_weight_g = grams;
  action.net_weight_sigma_g = 1.7;
  action.unit_price_minor = 3490;
  action.probability = 0.91;
  action.evidence_ids = {"weight:9", "region:0:17", "region:1:4"};
  action.event_time = Timestamp::FromMilliseconds(20'001);
  return action;
}

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The pid keeps two builds running this suite at once (dev and a peer's) apart.
    dir_ = fs::temp_directory_path() /
           (std::string("cartsense_ledger_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "ledger.sqlite").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs SQL on the file behind the ledger's back, as a damaged disk or a tamperer would.
  void RawSql(const std::string& sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int result = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(result, SQLITE_OK) << message;
  }

  // A closed ledger holding a few records, folded into the file by the close's checkpoint.
  void WriteSmallLedger() const {
    auto ledger = Ledger::Open(path_, kSession);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    for (const LedgerEntry& entry : testing::MakeWorkload(11, 60)) {
      const auto appended =
          std::visit([&ledger](const auto& value) { return (*ledger)->Append(value); }, entry);
      ASSERT_TRUE(appended.ok()) << appended.status().ToString();
    }
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(LedgerTest, AppendAcknowledgesIncreasingSequencesAndFolds) {
  auto ledger = Ledger::Open(path_, kSession);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  EXPECT_EQ((*ledger)->last_sequence(), 0);
  EXPECT_EQ((*ledger)->Append(AddMilk(2)).value_or(-1), 1);
  EXPECT_EQ((*ledger)->Append(AddApples(1234.0)).value_or(-1), 2);
  EXPECT_EQ((*ledger)->basket().total_minor(), 2 * 1590 + 4307);  // 34.90 x 1.234 = 43.0666
  EXPECT_EQ((*ledger)->records().size(), 2U);
  EXPECT_EQ((*ledger)->session(), kSession);
}

TEST_F(LedgerTest, ReopenReplaysEveryRecordKindExactly) {
  std::vector<LedgerRecord> written;
  Basket basket;
  {
    auto ledger = Ledger::Open(path_, kSession);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ShopperPrompt prompt;
    prompt.prompt_id = "p1";
    prompt.kind = PromptKind::kChooseProduct;
    prompt.candidate_product_ids = {"granny-smith", "pink-lady"};
    prompt.message = "Which apple is it? \xc3\xa4pple";  // UTF-8 survives
    prompt.probability = 0.55;
    prompt.evidence_ids = {"region:0:17"};
    prompt.event_time = Timestamp::FromMilliseconds(20'002);
    AuditFlag flag;
    flag.kind = AuditFlagKind::kTicketSwitch;
    flag.product_id = "arla-standard-milk";
    flag.message = "scanned milk, placed something 400 g heavier";
    flag.probability = 0.93;
    flag.evidence_ids = {"scan:3", "weight:4"};
    flag.event_time = Timestamp::FromNanoseconds(-5);  // any int64 round-trips
    ASSERT_TRUE((*ledger)->Append(AddMilk(3)).ok());
    ASSERT_TRUE((*ledger)->Append(prompt).ok());
    ASSERT_TRUE((*ledger)->Append(AddApples(0.1 + 0.2)).ok());  // a double that is not exact
    ASSERT_TRUE((*ledger)->Append(flag).ok());
    written = (*ledger)->records();
    basket = (*ledger)->basket();
  }
  auto reopened = Ledger::Open(path_, kSession);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->records(), written);
  EXPECT_EQ((*reopened)->basket(), basket);
  std::vector<int64_t> about_milk;
  for (const LedgerRecord* record : (*reopened)->RecordsAbout("arla-standard-milk")) {
    about_milk.push_back(record->sequence);
  }
  EXPECT_EQ(about_milk, (std::vector<int64_t>{1, 4}));  // the add and the ticket-switch flag
  std::vector<int64_t> about_apple;
  for (const LedgerRecord* record : (*reopened)->RecordsAbout("granny-smith")) {
    about_apple.push_back(record->sequence);
  }
  EXPECT_EQ(about_apple, (std::vector<int64_t>{2, 3}));  // the prompt offering it, the add
  EXPECT_EQ((*reopened)->Append(AddMilk(1)).value_or(-1), 5);

  auto existing = Ledger::OpenExisting(path_);
  EXPECT_EQ(existing.status().code(), StatusCode::kUnavailable) << "the first is still open";
  reopened = Status(StatusCode::kCancelled, "closed");
  existing = Ledger::OpenExisting(path_);
  ASSERT_TRUE(existing.ok()) << existing.status().ToString();
  EXPECT_EQ((*existing)->session(), kSession);
  EXPECT_EQ((*existing)->records().size(), 5U);
}

TEST_F(LedgerTest, ImpossibleActionIsRejectedAndNothingIsWritten) {
  {
    auto ledger = Ledger::Open(path_, kSession);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE((*ledger)->Append(AddMilk(1)).ok());
    BasketAction remove = AddApples(100.0);
    remove.kind = BasketActionKind::kRemove;
    const auto rejected = (*ledger)->Append(remove);
    EXPECT_EQ(rejected.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(rejected.status().message(), HasSubstr(path_));
    EXPECT_THAT(
        rejected.status().message(),
        HasSubstr("remove of 'granny-smith' (by weight): the product is not in the basket"));
    ShopperPrompt nameless;
    EXPECT_EQ((*ledger)->Append(nameless).status().code(), StatusCode::kInvalidArgument);
    AuditFlag sure;
    sure.probability = 2.0;
    EXPECT_EQ((*ledger)->Append(sure).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*ledger)->records().size(), 1U);
    EXPECT_EQ((*ledger)->Append(AddMilk(1)).value_or(-1), 2) << "no sequence was used up";
  }
  auto reopened = Ledger::Open(path_, kSession);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->records().size(), 2U);
  EXPECT_EQ((*reopened)->basket().item_count(), 2);
}

TEST_F(LedgerTest, CatalogueOptionChecksProductAndPrice) {
  auto catalogue = catalog::Catalogue::Parse(
      "product_id,name,fine_id,coarse_id,coarse_name,gtin,plu,sold_by,price_minor,currency,"
      "unit_mass_g,unit_mass_sigma_g,mass_source,iconic_image\n"
      "arla-standard-milk,Arla Standard Milk 3% 1 l,41,20,Milk,2000100000410,,unit,1590,SEK,1062,"
      "8,estimated,\n",
      "t.csv");
  ASSERT_TRUE(catalogue.ok()) << catalogue.status().ToString();
  auto ledger = Ledger::Open(path_, kSession, {.catalogue = &*catalogue});
  ASSERT_TRUE(ledger.ok());
  EXPECT_TRUE((*ledger)->Append(AddMilk(1)).ok());
  BasketAction cheap = AddMilk(1);
  cheap.unit_price_minor = 990;
  EXPECT_EQ((*ledger)->Append(cheap).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*ledger)->Append(AddApples(500)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*ledger)->records().size(), 1U);
}

TEST_F(LedgerTest, ExportsMetrics) {
  MetricsRegistry metrics;
  auto ledger = Ledger::Open(path_, kSession, {.metrics = &metrics});
  ASSERT_TRUE(ledger.ok());
  ASSERT_TRUE((*ledger)->Append(AddMilk(1)).ok());
  ASSERT_TRUE((*ledger)->Append(AddMilk(2)).ok());
  BasketAction remove_too_many = AddMilk(4);
  remove_too_many.kind = BasketActionKind::kRemove;
  EXPECT_FALSE((*ledger)->Append(remove_too_many).ok());
  EXPECT_EQ(metrics
                .GetCounter("cartsense_ledger_records_total", "Records appended to the ledger",
                            {{"type", "action"}})
                .value(),
            2U);
  EXPECT_EQ(metrics
                .GetCounter("cartsense_ledger_rejected_total",
                            "Ledger appends refused before writing (cannot apply)")
                .value(),
            1U);
  EXPECT_EQ(
      metrics
          .GetHistogram("cartsense_ledger_append_ms", "Time for a ledger append to become durable")
          .count(),
      2U);
  EXPECT_TRUE(metrics.Check().ok()) << metrics.Check().ToString();
}

// A write that fails on the disk (here: the file-size limit, EFBIG) is reported, nothing is
// acknowledged, the ledger refuses further appends, and a reopen finds every acknowledged record.
TEST_F(LedgerTest, DiskFailureStopsAppendsUntilReopen) {
  std::vector<LedgerRecord> acknowledged;
  {
    auto ledger = Ledger::Open(path_, kSession);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE((*ledger)->Append(AddMilk(1)).ok());
    acknowledged = (*ledger)->records();
    rlimit original{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &original), 0);
    ASSERT_NE(::signal(SIGXFSZ, SIG_IGN), SIG_ERR);  // EFBIG instead of the signal
    rlimit limited = original;
    limited.rlim_cur = static_cast<rlim_t>(fs::file_size(path_ + "-wal"));
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
    const auto failed = (*ledger)->Append(AddMilk(2));
    const auto refused = (*ledger)->Append(AddMilk(3));
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &original), 0);
    EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable) << failed.status().ToString();
    EXPECT_THAT(failed.status().message(), HasSubstr(path_ + ": appending record 2"));
    EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.status().message(), HasSubstr("reopen the ledger"));
    EXPECT_EQ((*ledger)->records(), acknowledged);
    EXPECT_EQ((*ledger)->basket().item_count(), 1);
  }
  auto reopened = Ledger::Open(path_, kSession);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->records(), acknowledged);
  EXPECT_EQ((*reopened)->Append(AddMilk(2)).value_or(-1), 2);
}

TEST_F(LedgerTest, OtherSessionOrMissingFileIsRefused) {
  { ASSERT_TRUE(Ledger::Open(path_, kSession).ok()); }
  LedgerSession other = kSession;
  other.session_id = "cart-07/session-2";
  const auto refused = Ledger::Open(path_, other);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      refused.status().message(),
      HasSubstr(path_ + " belongs to session 'cart-07/session-1', not 'cart-07/session-2'"));
  const auto missing = Ledger::OpenExisting((dir_ / "nothing.sqlite").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Ledger::Open(path_, LedgerSession{}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LedgerTest, UsesWalWithFullSync) {
  auto ledger = Ledger::Open(path_, kSession);
  ASSERT_TRUE(ledger.ok());
  ASSERT_TRUE((*ledger)->Append(AddMilk(1)).ok());
  // The record is in the WAL (the database file is only written at checkpoints).
  EXPECT_TRUE(fs::exists(path_ + "-wal"));
  EXPECT_FALSE(fs::exists(path_ + "-shm")) << "exclusive locking keeps the WAL index in memory";
}

TEST_F(LedgerTest, NewerSchemaVersionIsRefused) {
  WriteSmallLedger();
  RawSql("UPDATE schema_version SET version = 2");
  const auto refused = Ledger::Open(path_, kSession);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr(path_ + ": schema version 2, this build reads version 1"));
}

TEST_F(LedgerTest, AlteredRecordBreaksTheChain) {
  WriteSmallLedger();
  RawSql("UPDATE ledger SET event_time_ns = event_time_ns + 1 WHERE sequence = 7");
  const auto refused = Ledger::Open(path_, kSession);
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr(path_ + ": record 7: chain_sha256"));
}

TEST_F(LedgerTest, RemovedRecordIsFound) {
  WriteSmallLedger();
  RawSql("DELETE FROM ledger WHERE sequence = 30");
  const auto refused = Ledger::Open(path_, kSession);
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(),
              HasSubstr(path_ + ": record 30: sequence is 31 (records are missing)"));
}

TEST_F(LedgerTest, ForeignSqliteFileIsNotALedger) {
  RawSql("CREATE TABLE notes (text TEXT)");
  const auto refused = Ledger::Open(path_, kSession);
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr(path_ + ": not a cartsense ledger"));
}

TEST_F(LedgerTest, NonDatabaseFileGivesDataLossNamingTheFile) {
  std::ofstream(path_, std::ios::binary) << std::string(8192, 'x');
  const auto refused = Ledger::Open(path_, kSession);
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr(path_));
}

// Bytes overwritten at several places in a checkpointed ledger: every one must end in a clear
// error naming the file or (if the bytes hit unused space) in exactly the basket that was
// written, never in a different basket.
TEST_F(LedgerTest, OverwrittenBytesGiveAClearErrorNeverAWrongBasket) {
  WriteSmallLedger();
  Basket original;
  std::vector<LedgerRecord> original_records;
  {
    auto ledger = Ledger::Open(path_, kSession);
    ASSERT_TRUE(ledger.ok());
    original = (*ledger)->basket();
    original_records = (*ledger)->records();
  }
  ASSERT_FALSE(fs::exists(path_ + "-wal")) << "the close should have checkpointed";
  std::string pristine;
  {
    std::ifstream in(path_, std::ios::binary);
    pristine.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GE(pristine.size(), 8192U);
  int errors = 0;
  int unchanged = 0;
  // Every 97th byte offset, 16 bytes of 0xA5 each time: header, schema page, record pages.
  for (std::size_t offset = 0; offset + 16 <= pristine.size(); offset += 97) {
    std::string damaged = pristine;
    for (std::size_t i = 0; i < 16; ++i) damaged[offset + i] = static_cast<char>(0xA5);
    if (damaged == pristine) continue;
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << damaged;
    auto reopened = Ledger::OpenExisting(path_);
    if (!reopened.ok()) {
      ++errors;
      EXPECT_THAT(reopened.status().code(),
                  ::testing::AnyOf(StatusCode::kDataLoss, StatusCode::kFailedPrecondition))
          << "offset " << offset << ": " << reopened.status().ToString();
      EXPECT_THAT(reopened.status().message(), HasSubstr(path_)) << "offset " << offset;
    } else {
      ++unchanged;
      EXPECT_EQ((*reopened)->records(), original_records) << "offset " << offset;
      EXPECT_EQ((*reopened)->basket(), original) << "offset " << offset;
    }
    reopened = Status(StatusCode::kCancelled, "closed");
    fs::remove(path_ + "-wal");
  }
  EXPECT_GT(errors, 0);
  std::printf(
      "%zu-byte ledger, damaged at %d offsets: %d refused with an error, %d read back "
      "unchanged\n",
      pristine.size(), errors + unchanged, errors, unchanged);
}

TEST_F(LedgerTest, TruncatedFileGivesAClearError) {
  WriteSmallLedger();
  const auto size = fs::file_size(path_);
  fs::resize_file(path_, size / 2);
  const auto refused = Ledger::OpenExisting(path_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr(path_));
}

}  // namespace
}  // namespace cartsense::basket
