// A serial line (the load-cell bridge's UART, a USB CDC device or a pseudo-terminal) read as
// text lines. POSIX termios: raw mode, 8N1, the given baud rate.
#pragma once

#include <string>

#include "core/status.h"
#include "core/time.h"

namespace cartsense::sensors {

class SerialPort {
 public:
  // Opens `device` (e.g. /dev/ttyUSB0) at `baud` (9600..921600; ignored for pseudo-terminals).
  static Result<SerialPort> Open(const std::string& device, int baud);
  SerialPort(SerialPort&& other) noexcept;
  SerialPort& operator=(SerialPort&& other) noexcept;
  SerialPort(const SerialPort&) = delete;
  SerialPort& operator=(const SerialPort&) = delete;
  ~SerialPort();

  // The next line without its terminator ("\n" or "\r\n"), waiting at most `timeout`.
  // DeadlineExceeded when no full line arrived in time (a partial line is kept for the next
  // call); Unavailable when the device went away (unplugged, or the other end closed). A line
  // longer than `max_line_bytes` is returned cut, flagged by `too_long`.
  struct Line {
    std::string text;
    bool too_long = false;
  };
  Result<Line> ReadLine(Duration timeout, std::size_t max_line_bytes = 512);

  const std::string& device() const { return device_; }

 private:
  SerialPort(int fd, std::string device) : fd_(fd), device_(std::move(device)) {}
  int fd_ = -1;
  std::string device_;
  std::string buffer_;
  bool discarding_ = false;  // inside an over-long line: drop bytes until its end
};

}  // namespace cartsense::sensors
