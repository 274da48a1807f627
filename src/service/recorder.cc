#include "service/recorder.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <string_view>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "core/log.h"
#include "core/time.h"
#include "sensors/camera_capture.h"
#include "sensors/scale_calibration.h"
#include "sensors/serial_port.h"
#include "sensors/serial_protocol.h"

namespace cartsense::service {
namespace {

constexpr std::size_t kMaxProblemsKept = 20;
constexpr int kJpegQuality = 85;
const char* const kCellNames[] = {"front_left", "front_right", "back_left", "back_right"};

ConfigSchema TopSchema() {
  ConfigSchema schema;
  schema.String("cart_id").Required();
  schema.Section("basket").Required();
  schema.Section("load_cells").Required();
  schema.SectionList("cameras");
  schema.String("catalogue_version").Default("unknown");
  return schema;
}

ConfigSchema BasketSchema() {
  ConfigSchema schema;
  schema.Number("width_mm", "mm").Required().Range(100, 2000);
  schema.Number("depth_mm", "mm").Required().Range(100, 2000);
  schema.Number("height_mm", "mm").Required().Range(50, 1500);
  return schema;
}

ConfigSchema LoadCellSchema() {
  ConfigSchema schema;
  schema.String("device").Required().Describe("serial device of the ADC bridge");
  schema.Integer("baud").Default(115200);
  schema.Number("sample_rate_hz", "hz").Range(1, 1000).Default(80);
  schema.String("calibration_file").Required();
  return schema;
}

ConfigSchema CameraSchema() {
  ConfigSchema schema;
  schema.Integer("id").Required().Range(0, 255);
  schema.String("name").Required();
  schema.String("role").OneOf({"basket", "scanner"}).Default("basket");
  schema.String("device").Required();
  schema.Integer("width_px").Range(16, 8192).Default(640);
  schema.Integer("height_px").Range(16, 8192).Default(480);
  schema.Number("frame_rate_hz", "hz").Range(1, 120).Default(15);
  schema.Number("fx_px", "px").Required().Range(1, 100000);
  schema.Number("fy_px", "px").Required().Range(1, 100000);
  schema.Number("cx_px", "px").Required();
  schema.Number("cy_px", "px").Required();
  schema.StringList("floor_homography");
  return schema;
}

Result<double> ParseNumber(const std::string& text, const std::string& where) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return InvalidArgumentError(where + ": '" + text + "' is not a finite number");
  }
  return value;
}

}  // namespace

Result<RecorderConfig> LoadRecorderConfig(const std::string& path) {
  CS_ASSIGN_OR_RETURN(Config config, Config::LoadFile(path));
  const std::string base = std::filesystem::path(path).parent_path().string();
  return ParseRecorderConfig(config, base.empty() ? "." : base);
}

Result<RecorderConfig> ParseRecorderConfig(const Config& const_config,
                                           const std::string& base_dir) {
  Config config = const_config;
  CS_RETURN_IF_ERROR(TopSchema().Validate(config));
  RecorderConfig out;
  CS_ASSIGN_OR_RETURN(out.cart_id, config.GetString("cart_id"));
  CS_ASSIGN_OR_RETURN(out.catalogue_version, config.GetString("catalogue_version"));

  CS_ASSIGN_OR_RETURN(Config basket, config.Section("basket"));
  CS_RETURN_IF_ERROR(BasketSchema().Validate(basket));
  CS_ASSIGN_OR_RETURN(out.basket_width_mm, basket.GetDouble("width_mm"));
  CS_ASSIGN_OR_RETURN(out.basket_depth_mm, basket.GetDouble("depth_mm"));
  CS_ASSIGN_OR_RETURN(out.basket_height_mm, basket.GetDouble("height_mm"));

  CS_ASSIGN_OR_RETURN(Config cells, config.Section("load_cells"));
  CS_RETURN_IF_ERROR(LoadCellSchema().Validate(cells));
  CS_ASSIGN_OR_RETURN(out.serial_device, cells.GetString("device"));
  CS_ASSIGN_OR_RETURN(const int64_t baud, cells.GetInt("baud"));
  out.baud = static_cast<int>(baud);
  CS_ASSIGN_OR_RETURN(out.sample_rate_hz, cells.GetDouble("sample_rate_hz"));
  CS_ASSIGN_OR_RETURN(std::string calibration, cells.GetString("calibration_file"));
  std::filesystem::path calibration_path(calibration);
  if (calibration_path.is_relative())
    calibration_path = std::filesystem::path(base_dir) / calibration;
  out.calibration_file = calibration_path.string();

  if (config.Has("cameras")) {
    CS_ASSIGN_OR_RETURN(std::vector<Config> cameras, config.SectionList("cameras"));
    for (Config& camera : cameras) {
      CS_RETURN_IF_ERROR(CameraSchema().Validate(camera));
      RecorderCameraConfig entry;
      session::CameraInfo& info = entry.info;
      CS_ASSIGN_OR_RETURN(const int64_t id, camera.GetInt("id"));
      info.id = static_cast<int>(id);
      CS_ASSIGN_OR_RETURN(info.name, camera.GetString("name"));
      CS_ASSIGN_OR_RETURN(const std::string role, camera.GetString("role"));
      info.role = role == "scanner" ? session::CameraRole::kScanner : session::CameraRole::kBasket;
      CS_ASSIGN_OR_RETURN(entry.device, camera.GetString("device"));
      CS_ASSIGN_OR_RETURN(const int64_t width, camera.GetInt("width_px"));
      CS_ASSIGN_OR_RETURN(const int64_t height, camera.GetInt("height_px"));
      info.width_px = static_cast<int>(width);
      info.height_px = static_cast<int>(height);
      CS_ASSIGN_OR_RETURN(info.fps, camera.GetDouble("frame_rate_hz"));
      info.capture = session::CaptureMode::kContinuous;
      CS_ASSIGN_OR_RETURN(info.intrinsics.fx_px, camera.GetDouble("fx_px"));
      CS_ASSIGN_OR_RETURN(info.intrinsics.fy_px, camera.GetDouble("fy_px"));
      CS_ASSIGN_OR_RETURN(info.intrinsics.cx_px, camera.GetDouble("cx_px"));
      CS_ASSIGN_OR_RETURN(info.intrinsics.cy_px, camera.GetDouble("cy_px"));
      if (camera.Has("floor_homography")) {
        CS_ASSIGN_OR_RETURN(const std::vector<std::string> values,
                            camera.GetStringList("floor_homography"));
        if (values.size() != 9) {
          return InvalidArgumentError(camera.Where("floor_homography") +
                                      ": expected 9 numbers (row-major 3x3)");
        }
        std::array<double, 9> h{};
        for (std::size_t i = 0; i < 9; ++i) {
          CS_ASSIGN_OR_RETURN(h[i], ParseNumber(values[i], camera.Where("floor_homography")));
        }
        info.floor_homography = h;
      } else if (info.role == session::CameraRole::kBasket) {
        return InvalidArgumentError(camera.Where("floor_homography") +
                                    ": required for a basket camera (from camera calibration)");
      }
      out.cameras.push_back(std::move(entry));
    }
  }
  return out;
}

Recorder::~Recorder() {
  stop_.store(true);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

bool Recorder::running() const { return readers_running_.load() > 0 && !stop_.load(); }

void Recorder::Problem(const std::string& text) {
  {
    std::lock_guard lock(summary_mutex_);
    if (summary_.problems.size() < kMaxProblemsKept) summary_.problems.push_back(text);
  }
  Log().warn("record: {}", text);
}

Result<std::unique_ptr<Recorder>> Recorder::Start(const RecorderConfig& config,
                                                  const std::string& out_dir) {
  CS_ASSIGN_OR_RETURN(const sensors::ScaleCalibration calibration,
                      sensors::ScaleCalibration::LoadFile(config.calibration_file));
  session::SessionManifest header;
  header.session_id = config.cart_id + "-" + std::to_string(SystemClock().Now().ns / 1'000'000);
  header.origin = "recorded";
  header.basket_width_mm = config.basket_width_mm;
  header.basket_depth_mm = config.basket_depth_mm;
  header.basket_height_mm = config.basket_height_mm;
  header.load_cell_rate_hz = config.sample_rate_hz;
  header.has_temperature = true;  // the column exists; empty when no sensor is fitted
  for (int cell = 0; cell < sensors::kCellCount; ++cell) {
    const auto& cal = calibration.cells[static_cast<std::size_t>(cell)];
    const sensors::PointMm at = calibration.geometry.CellPosition(cell);
    // The calibration's frame is centred on the cells; the session's starts at the front-left
    // corner of the basket.
    header.load_cells.push_back({kCellNames[cell], config.basket_width_mm / 2 + at.x_mm,
                                 config.basket_depth_mm / 2 + at.y_mm, cal.offset_counts,
                                 1000.0 / cal.span_per_kg_counts});
  }
  header.imu_rate_hz = 100;  // the bridge's accelerometer rate; an empty file if none fitted
  for (const RecorderCameraConfig& camera : config.cameras) header.cameras.push_back(camera.info);
  header.catalogue_version = config.catalogue_version;

  auto recorder = std::unique_ptr<Recorder>(new Recorder());
  recorder->config_ = config;
  // Open every device before writing anything, so a bad device leaves no half session.
  CS_ASSIGN_OR_RETURN(sensors::SerialPort serial,
                      sensors::SerialPort::Open(config.serial_device, config.baud));
  std::vector<std::unique_ptr<sensors::CameraCapture>> captures;
  for (const RecorderCameraConfig& camera : config.cameras) {
    CS_ASSIGN_OR_RETURN(auto capture,
                        sensors::CameraCapture::Open({camera.device, camera.info.width_px,
                                                      camera.info.height_px, camera.info.fps}));
    captures.push_back(std::move(capture));
  }
  CS_ASSIGN_OR_RETURN(recorder->writer_, session::SessionWriter::Create(out_dir, header));
  Recorder* self = recorder.get();
  self->readers_running_.store(1 + static_cast<int>(captures.size()));
  self->threads_.emplace_back([self, port = std::make_shared<sensors::SerialPort>(
                                         std::move(serial))]() mutable { self->SerialLoop(port); });
  for (std::size_t i = 0; i < captures.size(); ++i) {
    self->threads_.emplace_back(
        [self, i, capture = std::shared_ptr<sensors::CameraCapture>(std::move(captures[i]))] {
          self->CameraLoop(i, capture);
        });
  }
  return recorder;
}

void Recorder::SerialLoop(const std::shared_ptr<sensors::SerialPort>& port) {
  sensors::SerialStreamDecoder decoder;
  std::optional<Duration> bridge_to_host;  // host monotonic time - bridge time
  const MonotonicClock clock;
  while (!stop_.load()) {
    auto line = port->ReadLine(Duration::Milliseconds(100), sensors::kMaxSerialLineLength);
    if (!line.ok()) {
      if (line.status().code() == StatusCode::kDeadlineExceeded) continue;
      Problem("load cells: " + line.status().message());
      break;  // the bridge went away: the recording ends
    }
    if (line->too_long) {
      std::lock_guard lock(summary_mutex_);
      ++summary_.bad_serial_lines;
      continue;
    }
    auto record = decoder.Decode(line->text);
    if (!record.ok()) {
      {
        std::lock_guard lock(summary_mutex_);
        ++summary_.bad_serial_lines;
      }
      Problem("load cells: " + record.status().message());
      continue;
    }
    if (std::holds_alternative<std::monostate>(*record)) continue;
    const Timestamp bridge_t = std::holds_alternative<LoadCellSample>(*record)
                                   ? std::get<LoadCellSample>(*record).t
                                   : std::get<ImuSample>(*record).t;
    if (!bridge_to_host) bridge_to_host = clock.Now() - bridge_t;
    // Locks are never nested: the writer's, then (released) the summary's.
    Status written;
    const bool is_load_cell = std::holds_alternative<LoadCellSample>(*record);
    {
      std::lock_guard lock(writer_mutex_);
      if (auto* sample = std::get_if<LoadCellSample>(&*record)) {
        sample->t = sample->t + *bridge_to_host;
        written = writer_->AddLoadCell(*sample);
      } else if (auto* imu = std::get_if<ImuSample>(&*record)) {
        imu->t = imu->t + *bridge_to_host;
        written = writer_->AddImu(*imu);
      }
    }
    if (!written.ok()) {
      Problem("load cells: " + written.message());
      continue;
    }
    std::lock_guard summary_lock(summary_mutex_);
    ++(is_load_cell ? summary_.load_cell_samples : summary_.imu_samples);
  }
  readers_running_.fetch_sub(1);
  stop_.store(true);  // without load cells there is no session worth recording further
}

void Recorder::CameraLoop(std::size_t index,
                          const std::shared_ptr<sensors::CameraCapture>& capture) {
  const session::CameraInfo& info = config_.cameras[index].info;
  while (!stop_.load()) {
    auto frame = capture->Read();
    if (!frame.ok()) {
      if (frame.status().code() != StatusCode::kOutOfRange) {
        Problem("camera " + info.name + ": " + frame.status().message());
      }
      break;
    }
    // Encode outside the writer's lock (the slow part), then store the bytes.
    std::vector<uchar> jpeg;
    if (frame->image.empty() ||
        !cv::imencode(".jpg", frame->image, jpeg, {cv::IMWRITE_JPEG_QUALITY, kJpegQuality})) {
      Problem("camera " + info.name + ": frame cannot be encoded as JPEG");
      continue;
    }
    Status written;
    {
      std::lock_guard lock(writer_mutex_);
      written = writer_->AddFrameJpeg(
          info.id, frame->t, 0,
          std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()));
    }
    if (!written.ok()) {
      Problem("camera " + info.name + ": " + written.message());
      continue;
    }
    std::lock_guard summary_lock(summary_mutex_);
    ++summary_.frames[info.name];
  }
  readers_running_.fetch_sub(1);
}

Result<RecordingSummary> Recorder::Finish() {
  stop_.store(true);
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  std::lock_guard lock(writer_mutex_);
  CS_ASSIGN_OR_RETURN(summary_.manifest, writer_->Finish());
  return summary_;
}

}  // namespace cartsense::service
