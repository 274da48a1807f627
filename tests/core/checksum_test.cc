#include "core/checksum.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace cartsense {
namespace {

TEST(ChecksumTest, KnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ChecksumTest, FileMatchesBytesAndMissingFileIsNotFound) {
  const std::string path = testing::TempDir() + "/checksum_test.bin";
  std::string bytes(200000, 'x');
  bytes[1234] = 'y';
  std::ofstream(path, std::ios::binary) << bytes;
  auto digest = Sha256File(path);
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, Sha256Hex(bytes));
  std::remove(path.c_str());
  EXPECT_EQ(Sha256File(path).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cartsense
