#include "sensors/serial_port.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

namespace cartsense::sensors {
namespace {

speed_t BaudConstant(int baud) {
  switch (baud) {
    case 9600:
      return B9600;
    case 19200:
      return B19200;
    case 38400:
      return B38400;
    case 57600:
      return B57600;
    case 115200:
      return B115200;
    case 230400:
      return B230400;
    case 460800:
      return B460800;
    case 921600:
      return B921600;
    default:
      return B0;
  }
}

}  // namespace

Result<SerialPort> SerialPort::Open(const std::string& device, int baud) {
  const speed_t speed = BaudConstant(baud);
  if (speed == B0) {
    return InvalidArgumentError("serial baud rate " + std::to_string(baud) +
                                " is not one of 9600, 19200, 38400, 57600, 115200, 230400, "
                                "460800, 921600");
  }
  const int fd = ::open(device.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return UnavailableError(device + ": cannot open: " + ErrnoMessage(errno));
  }
  termios settings{};
  if (::tcgetattr(fd, &settings) == 0) {
    ::cfmakeraw(&settings);
    settings.c_cflag |= CLOCAL | CREAD;
    settings.c_cflag &= ~static_cast<tcflag_t>(CSTOPB | PARENB);
    ::cfsetispeed(&settings, speed);
    ::cfsetospeed(&settings, speed);
    if (::tcsetattr(fd, TCSANOW, &settings) != 0) {
      const std::string error = ErrnoMessage(errno);
      ::close(fd);
      return UnavailableError(device + ": cannot configure: " + error);
    }
  } else if (errno != ENOTTY) {
    const std::string error = ErrnoMessage(errno);
    ::close(fd);
    return UnavailableError(device + ": " + error);
  }
  return SerialPort(fd, device);
}

SerialPort::SerialPort(SerialPort&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      device_(std::move(other.device_)),
      buffer_(std::move(other.buffer_)),
      discarding_(other.discarding_) {}

SerialPort& SerialPort::operator=(SerialPort&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    device_ = std::move(other.device_);
    buffer_ = std::move(other.buffer_);
    discarding_ = other.discarding_;
  }
  return *this;
}

SerialPort::~SerialPort() {
  if (fd_ >= 0) ::close(fd_);
}

Result<SerialPort::Line> SerialPort::ReadLine(Duration timeout, std::size_t max_line_bytes) {
  if (fd_ < 0) return FailedPreconditionError("serial port is closed");
  const auto deadline = MonotonicClock().Now() + timeout;
  while (true) {
    // A complete line already buffered?
    const std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      Line line;
      line.text = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
      if (discarding_) {
        discarding_ = false;
        continue;  // the tail of an over-long line already reported
      }
      return line;
    }
    if (buffer_.size() > max_line_bytes) {
      Line line;
      line.text = buffer_.substr(0, max_line_bytes);
      line.too_long = true;
      buffer_.clear();
      discarding_ = true;
      return line;
    }
    const int64_t remaining_ms = (deadline - MonotonicClock().Now()).ns / 1'000'000;
    if (remaining_ms <= 0) return DeadlineExceededError(device_ + ": no complete line in time");
    pollfd poll_fd{fd_, POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, static_cast<int>(remaining_ms));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return UnavailableError(device_ + ": poll failed: " + ErrnoMessage(errno));
    }
    if (ready == 0) continue;
    char chunk[512];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      // End of file or EIO: the device was unplugged or the other end of a pty closed.
      return UnavailableError(device_ + ": the device went away" +
                              (n < 0 ? std::string(": ") + ErrnoMessage(errno) : std::string()));
    } else if ((poll_fd.revents & (POLLHUP | POLLERR)) != 0) {
      return UnavailableError(device_ + ": hung up");
    }
  }
}

}  // namespace cartsense::sensors
