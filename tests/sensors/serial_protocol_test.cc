#include "sensors/serial_protocol.h"

#include <string>

#include <gtest/gtest.h>

namespace cartsense::sensors {
namespace {

LoadCellSample Sample(int64_t t_us, int32_t a, int32_t b, int32_t c, int32_t d,
                      std::optional<double> temperature = std::nullopt) {
  LoadCellSample s;
  s.t = Timestamp::FromNanoseconds(t_us * 1000);
  s.raw_counts = {a, b, c, d};
  s.temperature_c = temperature;
  return s;
}

std::string ErrorOf(std::string_view line) {
  Result<SerialRecord> r = ParseSerialLine(line);
  EXPECT_FALSE(r.ok()) << "accepted: " << line;
  return r.ok() ? "" : r.status().message();
}

TEST(SerialProtocolTest, ParsesLoadCellLineWithTemperatureAndChecksum) {
  const std::string line =
      FormatLoadCellLine(Sample(1250000, 8123456, -23456, 120034, 99887, 21.5));
  EXPECT_EQ(line.substr(0, 44), "L,1250000,8123456,-23456,120034,99887,T21.50");
  Result<SerialRecord> r = ParseSerialLine(line + "\r\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& s = std::get<LoadCellSample>(*r);
  EXPECT_EQ(s.t.ns, 1250000000);
  EXPECT_EQ(s.raw_counts[0], 8123456);
  EXPECT_EQ(s.raw_counts[1], -23456);
  EXPECT_EQ(s.raw_counts[3], 99887);
  ASSERT_TRUE(s.temperature_c.has_value());
  EXPECT_DOUBLE_EQ(*s.temperature_c, 21.5);
}

TEST(SerialProtocolTest, ChecksumIsOptionalAndTemperatureTooAndRailsAreInRange) {
  Result<SerialRecord> r = ParseSerialLine("L,0,-8388608,8388607,0,1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& s = std::get<LoadCellSample>(*r);
  EXPECT_EQ(s.raw_counts[0], kAdcMinCounts);
  EXPECT_EQ(s.raw_counts[1], kAdcMaxCounts);
  EXPECT_FALSE(s.temperature_c.has_value());
}

TEST(SerialProtocolTest, ParsesAccelerometerLineAndRoundTrips) {
  ImuSample imu;
  imu.t = Timestamp::FromNanoseconds(10'000'000);
  imu.ax_mps2 = 0.25;
  imu.ay_mps2 = -1.5;
  imu.az_mps2 = 9.8066;
  Result<SerialRecord> r = ParseSerialLine(FormatImuLine(imu));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& back = std::get<ImuSample>(*r);
  EXPECT_EQ(back.t, imu.t);
  EXPECT_DOUBLE_EQ(back.ax_mps2, 0.25);
  EXPECT_DOUBLE_EQ(back.ay_mps2, -1.5);
  EXPECT_NEAR(back.az_mps2, 9.8066, 1e-9);
}

TEST(SerialProtocolTest, CommentsAndBlankLinesAreNothing) {
  for (const char* line : {"", "\n", "\r\n", "# bridge v2 booted", "#"}) {
    Result<SerialRecord> r = ParseSerialLine(line);
    ASSERT_TRUE(r.ok()) << line;
    EXPECT_TRUE(std::holds_alternative<std::monostate>(*r)) << line;
  }
}

TEST(SerialProtocolTest, RejectsGarbage) {
  EXPECT_NE(ErrorOf("hello world").find("unknown record type"), std::string::npos);
  EXPECT_NE(ErrorOf("X,1,2,3").find("unknown record type"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string("L,1,2,\0,4,5", 12)).find("NUL"), std::string::npos);
  EXPECT_NE(ErrorOf("\xff\xfe\x01garbage").find("\\xff"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(300, 'L')).find("longer than"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1,2,3,4,5,6,7,8,9").find("more than"), std::string::npos);
}

TEST(SerialProtocolTest, RejectsNanInfAndOutOfRangeNumbers) {
  EXPECT_NE(ErrorOf("L,1,2,3,4,5,Tnan").find("not finite"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1,2,3,4,5,Tinf").find("not finite"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1,2,3,4,5,T999").find("outside"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1,2,3,4,5,21.5").find("must look like T21.5"), std::string::npos);
  EXPECT_NE(ErrorOf("A,1,nan,0,9.8").find("not finite"), std::string::npos);
  EXPECT_NE(ErrorOf("A,1,0,0,1e300").find("outside"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1,nan,3,4,5").find("not a signed decimal integer"), std::string::npos);
}

TEST(SerialProtocolTest, RejectsOverflow) {
  EXPECT_NE(ErrorOf("L,1,8388608,0,0,0").find("24-bit range"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1,-8388609,0,0,0").find("24-bit range"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1,99999999999999999999999,0,0,0").find("24-bit"), std::string::npos);
  EXPECT_NE(ErrorOf("L,99999999999999999999999,0,0,0,0").find("timestamp"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1000000000000000001,0,0,0,0").find("beyond the limit"), std::string::npos);
  EXPECT_NE(ErrorOf("L,-5,0,0,0,0").find("timestamp"), std::string::npos);
}

TEST(SerialProtocolTest, RejectsTruncatedLines) {
  EXPECT_NE(ErrorOf("L").find("fields"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1250000,8123456,-23456").find("fields"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1250000,8123456,-23456,120034,").find("counts"), std::string::npos);
  EXPECT_NE(ErrorOf("L,1250000,8123456,-23456,120034,99887,T").find("temperature"),
            std::string::npos);
  EXPECT_NE(ErrorOf("A,1,0.1").find("fields"), std::string::npos);
  EXPECT_NE(ErrorOf("L,12a,0,0,0,0").find("timestamp"), std::string::npos);
}

TEST(SerialProtocolTest, ChecksumMismatchIsAnError) {
  std::string line = FormatLoadCellLine(Sample(5, 1, 2, 3, 4));
  line[4] = '9';  // one corrupted digit
  EXPECT_NE(ErrorOf(line).find("checksum mismatch"), std::string::npos);
  EXPECT_NE(ErrorOf("L,5,1,2,3,4*G1").find("two hex digits"), std::string::npos);
  EXPECT_NE(ErrorOf("L,5,1,2,3,4*").find("two hex digits"), std::string::npos);
  EXPECT_NE(ErrorOf("L,5,1,2,3,4*ABC").find("two hex digits"), std::string::npos);
}

TEST(SerialStreamDecoderTest, OutOfOrderTimestampsAreDroppedAndCounted) {
  SerialStreamDecoder decoder;
  ASSERT_TRUE(decoder.Decode("L,100,1,2,3,4").ok());
  ASSERT_TRUE(decoder.Decode("A,50,0,0,9.8").ok());  // another kind: its own order
  Result<SerialRecord> same = decoder.Decode("L,100,1,2,3,4");
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.status().message().find("line 3"), std::string::npos);
  EXPECT_NE(same.status().message().find("not after the previous one"), std::string::npos);
  EXPECT_FALSE(decoder.Decode("L,99,1,2,3,4").ok());
  EXPECT_FALSE(decoder.Decode("garbage").ok());
  ASSERT_TRUE(decoder.Decode("L,101,1,2,3,4").ok());  // the stream goes on
  EXPECT_EQ(decoder.lines(), 6);
  EXPECT_EQ(decoder.bad_lines(), 3);
  EXPECT_EQ(decoder.out_of_order_lines(), 2);
}

}  // namespace
}  // namespace cartsense::sensors
