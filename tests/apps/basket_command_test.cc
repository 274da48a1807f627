// `cartsense eval --ledger-dir` and `cartsense basket --ledger` on the shipped demo session: the
// replay's decisions land in a basket ledger whose basket is the one the replay billed, an
// existing ledger is never overwritten, and a damaged or missing ledger is a clear error.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "support/run_command.h"

namespace cartsense {
namespace {

namespace fs = std::filesystem;
using test_support::RunCartsense;
using test_support::RunResult;

const std::string kRepo = CARTSENSE_SOURCE_DIR;
const std::string kDemo = kRepo + "/data/demo-session/session";

class BasketCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("cartsense_basket_command_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// The lines of `text` from the one after the line starting with `first` up to (not including)
// the next line starting with `last` ("" = to the end).
std::string Block(const std::string& text, const std::string& first, const std::string& last) {
  const std::size_t start_line = text.find(first);
  if (start_line == std::string::npos) return "";
  const std::size_t start = text.find('\n', start_line);
  if (start == std::string::npos) return "";
  const std::size_t end = last.empty() ? std::string::npos : text.find("\n" + last, start);
  return text.substr(start + 1, end == std::string::npos ? std::string::npos : end - start);
}

int CountOccurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(BasketCommandTest, TheLedgerHoldsTheBasketTheReplayBilled) {
  const std::string ledger_dir = (dir_ / "ledgers").string();
  const std::string eval = "eval --verbose --bundle " + kRepo +
                           "/models/recognizer/v2 --sessions " + kDemo + " --ledger-dir " +
                           ledger_dir;
  const RunResult replay = RunCartsense(eval);
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  const std::string ledger = ledger_dir + "/sim-random-n10-s3.sqlite";
  ASSERT_TRUE(fs::exists(ledger));

  // The basket read back from the ledger is printed exactly as the replay printed its own.
  const RunResult shown = RunCartsense("basket --ledger " + ledger);
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  const std::string billed = Block(replay.out, "final basket", "against the truth");
  ASSERT_NE(billed.find("  total "), std::string::npos) << replay.out;
  EXPECT_EQ(Block(shown.out, "ledger ", ""), billed);

  const RunResult json = RunCartsense("basket --json --ledger " + ledger);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  const nlohmann::json basket = nlohmann::json::parse(json.out);
  EXPECT_EQ(basket["session_id"], "sim-random-n10-s3");
  EXPECT_EQ(basket["currency"], "SEK");
  EXPECT_GT(basket["items"].get<int>(), 0);
  EXPECT_EQ(basket["prompts"].get<int>(), CountOccurrences(replay.out, "] prompt: "));
  EXPECT_EQ(basket["flags"].get<int>(), CountOccurrences(replay.out, "] flag: "));
  EXPECT_EQ(
      basket["records"].get<int>(),
      basket["actions"].get<int>() + basket["prompts"].get<int>() + basket["flags"].get<int>());
  int64_t lines_total = 0;
  for (const nlohmann::json& line : basket["lines"]) {
    lines_total += line["total_minor"].get<int64_t>();
  }
  EXPECT_EQ(basket["total_minor"].get<int64_t>(), lines_total);

  // A second replay into the same folder must not overwrite (or append to) the ledger.
  const RunResult again = RunCartsense(eval);
  EXPECT_EQ(again.exit_code, 2);
  const RunResult after = RunCartsense("basket --json --ledger " + ledger);
  ASSERT_EQ(after.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(after.out)["records"], basket["records"]);
}

TEST_F(BasketCommandTest, ADamagedOrMissingLedgerIsAClearError) {
  const std::string garbage = (dir_ / "garbage.sqlite").string();
  std::ofstream(garbage) << "this is not a SQLite database, just bytes\n";
  EXPECT_EQ(RunCartsense("basket --ledger " + garbage).exit_code, 1);
  EXPECT_EQ(RunCartsense("basket --ledger " + (dir_ / "none.sqlite").string()).exit_code, 3);
  EXPECT_EQ(RunCartsense("basket").exit_code, 2);  // --ledger is required
}

}  // namespace
}  // namespace cartsense
