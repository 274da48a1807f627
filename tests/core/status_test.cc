#include "core/status.h"

#include <gtest/gtest.h>

namespace cartsense {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgumentError("expected a positive number, got " + std::to_string(v));
  return v;
}

Result<int> DoubleIt(int v) {
  CS_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  return parsed * 2;
}

Status CheckBoth(int a, int b) {
  CS_RETURN_IF_ERROR(ParsePositive(a));
  CS_RETURN_IF_ERROR_CTX(ParsePositive(b), "second value");
  return Status::Ok();
}

Status Invariant(int v) {
  CS_RET_CHECK(v == 1);
  return Status::Ok();
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ContextIsPrefixedAndCodeKept) {
  Status s = NotFoundError("no file x.yaml").WithContext("loading cart config");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "loading cart config: no file x.yaml");
  EXPECT_EQ(s.ToString(), "NOT_FOUND: loading cart config: no file x.yaml");
  EXPECT_TRUE(Status::Ok().WithContext("anything").ok());
}

TEST(StatusTest, ResultCarriesValueOrStatus) {
  Result<int> good = DoubleIt(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 8);
  Result<int> bad = DoubleIt(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(StatusTest, ReturnIfErrorStopsAtFirstError) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(0, 2).message(), "expected a positive number, got 0");
  EXPECT_EQ(CheckBoth(1, -3).message(), "second value: expected a positive number, got -3");
}

TEST(StatusTest, RetCheckNamesTheCondition) {
  EXPECT_TRUE(Invariant(1).ok());
  Status s = Invariant(2);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("v == 1"), std::string::npos);
}

TEST(StatusTest, ResultWithContext) {
  Result<int> r = Result<int>(DataLossError("torn write")).WithContext("ledger");
  EXPECT_EQ(r.status().message(), "ledger: torn write");
}

}  // namespace
}  // namespace cartsense
