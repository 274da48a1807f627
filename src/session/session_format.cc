#include "session/session_format.h"

#include <charconv>
#include <cmath>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/text.h"

namespace cartsense::session {
namespace {

using nlohmann::json;

// ---- field helpers ------------------------------------------------------------------------------

Status ExpectFields(const std::vector<std::string_view>& fields, std::size_t want,
                    std::string_view header) {
  if (fields.size() != want) {
    return InvalidArgumentError("expected " + std::to_string(want) + " comma-separated fields (" +
                                std::string(header) + "), got " + std::to_string(fields.size()));
  }
  return Status::Ok();
}

Result<int64_t> ParseInt(std::string_view text, std::string_view what) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) {
    return InvalidArgumentError(std::string(what) + ": '" + std::string(text.substr(0, 40)) +
                                "' is not an integer");
  }
  return value;
}

Result<double> ParseFinite(std::string_view text, std::string_view what) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || !std::isfinite(value)) {
    return InvalidArgumentError(std::string(what) + ": '" + std::string(text.substr(0, 40)) +
                                "' is not a finite number");
  }
  return value;
}

std::string FormatDouble(double value) {
  std::array<char, 32> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (error != std::errc()) return "0";
  return std::string(buffer.data(), end);
}

// Text fields are percent-encoded so they can hold commas, newlines and '%'.
std::string EncodeText(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == ',' || c == '%' || c == '\n' || c == '\r') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> DecodeText(std::string_view text, std::string_view what) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return InvalidArgumentError(std::string(what) + ": truncated %-escape");
    }
    int value = 0;
    const auto [ptr, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (error != std::errc() || ptr != text.data() + i + 3) {
      return InvalidArgumentError(std::string(what) + ": bad %-escape");
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

Result<Timestamp> ParseTime(std::string_view text) {
  CS_ASSIGN_OR_RETURN(const int64_t ns, ParseInt(text, "t_ns"));
  if (ns < 0) return InvalidArgumentError("t_ns: negative timestamp " + std::to_string(ns));
  return Timestamp::FromNanoseconds(ns);
}

// ---- manifest helpers ---------------------------------------------------------------------------

// Reads typed members of a JSON object and names the member's path in errors.
class JsonReader {
 public:
  JsonReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  Status IsObject() const {
    if (!object_.is_object()) return InvalidArgumentError(path_ + ": expected an object");
    return Status::Ok();
  }
  bool Has(const std::string& key) const { return object_.contains(key); }
  std::string Path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  Result<std::string> String(const std::string& key) const {
    if (!object_.contains(key)) return Missing(key);
    const json& value = object_.at(key);
    if (!value.is_string()) return InvalidArgumentError(Path(key) + ": expected a string");
    return value.get<std::string>();
  }
  Result<double> Number(const std::string& key) const {
    if (!object_.contains(key)) return Missing(key);
    const json& value = object_.at(key);
    if (!value.is_number()) return InvalidArgumentError(Path(key) + ": expected a number");
    const double number = value.get<double>();
    if (!std::isfinite(number)) return InvalidArgumentError(Path(key) + ": not finite");
    return number;
  }
  Result<double> Positive(const std::string& key) const {
    CS_ASSIGN_OR_RETURN(const double number, Number(key));
    if (number <= 0) return InvalidArgumentError(Path(key) + ": must be > 0");
    return number;
  }
  Result<int64_t> Integer(const std::string& key) const {
    if (!object_.contains(key)) return Missing(key);
    const json& value = object_.at(key);
    if (!value.is_number_integer())
      return InvalidArgumentError(Path(key) + ": expected an integer");
    return value.get<int64_t>();
  }
  Result<bool> Bool(const std::string& key) const {
    if (!object_.contains(key)) return Missing(key);
    const json& value = object_.at(key);
    if (!value.is_boolean()) return InvalidArgumentError(Path(key) + ": expected true or false");
    return value.get<bool>();
  }
  Result<const json*> Array(const std::string& key) const {
    if (!object_.contains(key)) return Missing(key);
    const json& value = object_.at(key);
    if (!value.is_array()) return InvalidArgumentError(Path(key) + ": expected an array");
    return &value;
  }
  Result<const json*> Object(const std::string& key) const {
    if (!object_.contains(key)) return Missing(key);
    const json& value = object_.at(key);
    if (!value.is_object()) return InvalidArgumentError(Path(key) + ": expected an object");
    return &value;
  }

 private:
  Status Missing(const std::string& key) const {
    return InvalidArgumentError(Path(key) + ": missing");
  }
  const json& object_;
  std::string path_;
};

bool IsSafeName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A relative path inside the session: no absolute paths, no "..", no empty segments, no
// backslashes or control characters.
bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view segment = path.substr(start, slash - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = slash + 1;
  }
  for (const char c : path) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
  }
  return true;
}

bool IsHex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<CameraInfo> ParseCamera(const json& value, const std::string& path) {
  JsonReader in(value, path);
  CS_RETURN_IF_ERROR(in.IsObject());
  CameraInfo camera;
  CS_ASSIGN_OR_RETURN(const int64_t id, in.Integer("id"));
  if (id < 0 || id > 255) return InvalidArgumentError(in.Path("id") + ": must be 0..255");
  camera.id = static_cast<int>(id);
  CS_ASSIGN_OR_RETURN(camera.name, in.String("name"));
  if (!IsSafeName(camera.name)) {
    return InvalidArgumentError(in.Path("name") + ": '" + camera.name.substr(0, 64) +
                                "' must match [a-z0-9_]+ (at most 64 characters)");
  }
  CS_ASSIGN_OR_RETURN(const std::string role, in.String("role"));
  if (role == "basket") {
    camera.role = CameraRole::kBasket;
  } else if (role == "scanner") {
    camera.role = CameraRole::kScanner;
  } else {
    return InvalidArgumentError(in.Path("role") + ": expected 'basket' or 'scanner'");
  }
  CS_ASSIGN_OR_RETURN(const int64_t width, in.Integer("width_px"));
  CS_ASSIGN_OR_RETURN(const int64_t height, in.Integer("height_px"));
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    return InvalidArgumentError(path + ": width_px and height_px must be 1..16384");
  }
  camera.width_px = static_cast<int>(width);
  camera.height_px = static_cast<int>(height);
  CS_ASSIGN_OR_RETURN(camera.fps, in.Positive("fps"));
  CS_ASSIGN_OR_RETURN(const std::string capture, in.String("capture"));
  if (capture == "continuous") {
    camera.capture = CaptureMode::kContinuous;
  } else if (capture == "event_triggered") {
    camera.capture = CaptureMode::kEventTriggered;
  } else {
    return InvalidArgumentError(in.Path("capture") +
                                ": expected 'continuous' or 'event_triggered'");
  }
  CS_ASSIGN_OR_RETURN(const json* intrinsics_json, in.Object("intrinsics"));
  JsonReader intrinsics(*intrinsics_json, in.Path("intrinsics"));
  CS_ASSIGN_OR_RETURN(camera.intrinsics.fx_px, intrinsics.Positive("fx_px"));
  CS_ASSIGN_OR_RETURN(camera.intrinsics.fy_px, intrinsics.Positive("fy_px"));
  CS_ASSIGN_OR_RETURN(camera.intrinsics.cx_px, intrinsics.Number("cx_px"));
  CS_ASSIGN_OR_RETURN(camera.intrinsics.cy_px, intrinsics.Number("cy_px"));
  if (intrinsics.Has("distortion")) {
    CS_ASSIGN_OR_RETURN(const json* distortion, intrinsics.Array("distortion"));
    if (distortion->size() > 14) {
      return InvalidArgumentError(intrinsics.Path("distortion") + ": at most 14 coefficients");
    }
    for (const json& k : *distortion) {
      if (!k.is_number() || !std::isfinite(k.get<double>())) {
        return InvalidArgumentError(intrinsics.Path("distortion") + ": expected finite numbers");
      }
      camera.intrinsics.distortion.push_back(k.get<double>());
    }
  }
  if (in.Has("floor_homography")) {
    CS_ASSIGN_OR_RETURN(const json* homography, in.Array("floor_homography"));
    if (homography->size() != 9) {
      return InvalidArgumentError(in.Path("floor_homography") + ": expected 9 numbers (row-major)");
    }
    std::array<double, 9> h{};
    for (std::size_t i = 0; i < 9; ++i) {
      const json& v = (*homography)[i];
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        return InvalidArgumentError(in.Path("floor_homography") + ": expected finite numbers");
      }
      h[i] = v.get<double>();
    }
    camera.floor_homography = h;
  } else if (camera.role == CameraRole::kBasket) {
    return InvalidArgumentError(in.Path("floor_homography") + ": missing (basket cameras need it)");
  }
  return camera;
}

}  // namespace

// ---- manifest -----------------------------------------------------------------------------------

Result<SessionManifest> ParseManifest(std::string_view json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& error) {
    return InvalidArgumentError(source + ": not valid JSON at byte " + std::to_string(error.byte));
  } catch (const json::exception& error) {  // out_of_range: a number too big for a double
    return InvalidArgumentError(source + ": not valid JSON: " + error.what());
  }
  auto parsed = [&]() -> Result<SessionManifest> {
    JsonReader in(root, "");
    if (!root.is_object()) return InvalidArgumentError("expected a JSON object");
    SessionManifest m;
    CS_ASSIGN_OR_RETURN(const std::string format, in.String("format"));
    if (format != kFormatName) {
      return InvalidArgumentError("format: '" + format.substr(0, 64) + "' is not '" +
                                  std::string(kFormatName) + "'");
    }
    CS_ASSIGN_OR_RETURN(const int64_t version, in.Integer("format_version"));
    if (version != kFormatVersion) {
      return InvalidArgumentError("format_version " + std::to_string(version) +
                                  " is not supported (this reader knows " +
                                  std::to_string(kFormatVersion) + ")");
    }
    m.format_version = static_cast<int>(version);
    CS_ASSIGN_OR_RETURN(m.session_id, in.String("session_id"));
    if (m.session_id.empty()) return InvalidArgumentError("session_id: empty");
    CS_ASSIGN_OR_RETURN(m.origin, in.String("origin"));
    if (m.origin != "recorded" && m.origin != "simulated") {
      return InvalidArgumentError("origin: expected 'recorded' or 'simulated'");
    }
    CS_ASSIGN_OR_RETURN(m.created_utc, in.String("created_utc"));
    CS_ASSIGN_OR_RETURN(const int64_t start_ns, in.Integer("start_ns"));
    CS_ASSIGN_OR_RETURN(const int64_t end_ns, in.Integer("end_ns"));
    if (start_ns < 0 || end_ns < start_ns) {
      return InvalidArgumentError("start_ns/end_ns: need 0 <= start_ns <= end_ns");
    }
    m.start = Timestamp::FromNanoseconds(start_ns);
    m.end = Timestamp::FromNanoseconds(end_ns);

    CS_ASSIGN_OR_RETURN(const json* basket_json, in.Object("basket"));
    JsonReader basket(*basket_json, "basket");
    CS_ASSIGN_OR_RETURN(m.basket_width_mm, basket.Positive("width_mm"));
    CS_ASSIGN_OR_RETURN(m.basket_depth_mm, basket.Positive("depth_mm"));
    CS_ASSIGN_OR_RETURN(m.basket_height_mm, basket.Positive("height_mm"));

    CS_ASSIGN_OR_RETURN(const json* cells_json, in.Object("load_cells"));
    JsonReader cells(*cells_json, "load_cells");
    CS_ASSIGN_OR_RETURN(m.load_cell_rate_hz, cells.Positive("rate_hz"));
    CS_ASSIGN_OR_RETURN(m.has_temperature, cells.Bool("temperature"));
    CS_ASSIGN_OR_RETURN(const json* cell_list, cells.Array("cells"));
    if (cell_list->size() < 3 || cell_list->size() > LoadCellSample::kMaxCells) {
      return InvalidArgumentError("load_cells.cells: expected 3 or 4 cells");
    }
    for (std::size_t i = 0; i < cell_list->size(); ++i) {
      JsonReader cell((*cell_list)[i], "load_cells.cells[" + std::to_string(i) + "]");
      CS_RETURN_IF_ERROR(cell.IsObject());
      LoadCellInfo info;
      CS_ASSIGN_OR_RETURN(info.name, cell.String("name"));
      CS_ASSIGN_OR_RETURN(info.x_mm, cell.Number("x_mm"));
      CS_ASSIGN_OR_RETURN(info.y_mm, cell.Number("y_mm"));
      CS_ASSIGN_OR_RETURN(info.offset_counts, cell.Number("offset_counts"));
      CS_ASSIGN_OR_RETURN(info.grams_per_count, cell.Number("grams_per_count"));
      if (info.grams_per_count == 0) {
        return InvalidArgumentError(cell.Path("grams_per_count") + ": must not be 0");
      }
      m.load_cells.push_back(std::move(info));
    }

    if (in.Has("imu")) {
      CS_ASSIGN_OR_RETURN(const json* imu_json, in.Object("imu"));
      JsonReader imu(*imu_json, "imu");
      CS_ASSIGN_OR_RETURN(const double rate, imu.Positive("rate_hz"));
      m.imu_rate_hz = rate;
    }

    CS_ASSIGN_OR_RETURN(const json* cameras, in.Array("cameras"));
    std::set<int> camera_ids;
    std::set<std::string> camera_names;
    for (std::size_t i = 0; i < cameras->size(); ++i) {
      CS_ASSIGN_OR_RETURN(CameraInfo camera,
                          ParseCamera((*cameras)[i], "cameras[" + std::to_string(i) + "]"));
      if (!camera_ids.insert(camera.id).second || !camera_names.insert(camera.name).second) {
        return InvalidArgumentError("cameras[" + std::to_string(i) + "]: duplicate id or name");
      }
      m.cameras.push_back(std::move(camera));
    }

    CS_ASSIGN_OR_RETURN(const json* streams_json, in.Object("streams"));
    JsonReader streams(*streams_json, "streams");
    CS_ASSIGN_OR_RETURN(m.has_scanner_reads, streams.Bool("scanner_reads"));
    CS_ASSIGN_OR_RETURN(m.has_touchscreen, streams.Bool("touchscreen"));
    CS_ASSIGN_OR_RETURN(m.has_truth, streams.Bool("truth"));
    CS_ASSIGN_OR_RETURN(m.catalogue_version, in.String("catalogue_version"));

    CS_ASSIGN_OR_RETURN(const json* files, in.Array("files"));
    std::set<std::string> paths;
    for (std::size_t i = 0; i < files->size(); ++i) {
      JsonReader file((*files)[i], "files[" + std::to_string(i) + "]");
      CS_RETURN_IF_ERROR(file.IsObject());
      ManifestFile entry;
      CS_ASSIGN_OR_RETURN(entry.path, file.String("path"));
      if (!IsSafeRelativePath(entry.path) || entry.path == kManifestFile) {
        return InvalidArgumentError(file.Path("path") + ": '" + entry.path.substr(0, 80) +
                                    "' is not a relative path inside the session");
      }
      if (!paths.insert(entry.path).second) {
        return InvalidArgumentError(file.Path("path") + ": '" + entry.path + "' listed twice");
      }
      CS_ASSIGN_OR_RETURN(entry.sha256, file.String("sha256"));
      if (!IsHex64(entry.sha256)) {
        return InvalidArgumentError(file.Path("sha256") + ": expected 64 lower-case hex digits");
      }
      CS_ASSIGN_OR_RETURN(const int64_t bytes, file.Integer("bytes"));
      if (bytes < 0) return InvalidArgumentError(file.Path("bytes") + ": negative");
      entry.bytes = static_cast<uint64_t>(bytes);
      m.files.push_back(std::move(entry));
    }
    // Every stream the manifest announces must be among the files.
    auto require = [&](const std::string& path) -> Status {
      if (paths.count(path) == 0) {
        return InvalidArgumentError("files: '" + path + "' is announced but not listed");
      }
      return Status::Ok();
    };
    CS_RETURN_IF_ERROR(require(std::string(kLoadCellFile)));
    if (m.imu_rate_hz) CS_RETURN_IF_ERROR(require(std::string(kImuFile)));
    if (m.has_scanner_reads) CS_RETURN_IF_ERROR(require(std::string(kScannerFile)));
    if (m.has_touchscreen) CS_RETURN_IF_ERROR(require(std::string(kTouchscreenFile)));
    if (m.has_truth) CS_RETURN_IF_ERROR(require(std::string(kTruthFile)));
    for (const CameraInfo& camera : m.cameras) {
      CS_RETURN_IF_ERROR(require("cameras/" + camera.name + "/" + std::string(kFramesFile)));
    }
    return m;
  }();
  if (!parsed.ok()) return std::move(parsed).status().WithContext(source);
  return parsed;
}

std::string ManifestToJson(const SessionManifest& m) {
  json root;
  root["format"] = std::string(kFormatName);
  root["format_version"] = m.format_version;
  root["session_id"] = m.session_id;
  root["origin"] = m.origin;
  root["created_utc"] = m.created_utc;
  root["start_ns"] = m.start.ns;
  root["end_ns"] = m.end.ns;
  root["basket"] = {{"width_mm", m.basket_width_mm},
                    {"depth_mm", m.basket_depth_mm},
                    {"height_mm", m.basket_height_mm}};
  json cells = json::array();
  for (const LoadCellInfo& cell : m.load_cells) {
    cells.push_back({{"name", cell.name},
                     {"x_mm", cell.x_mm},
                     {"y_mm", cell.y_mm},
                     {"offset_counts", cell.offset_counts},
                     {"grams_per_count", cell.grams_per_count}});
  }
  root["load_cells"] = {
      {"rate_hz", m.load_cell_rate_hz}, {"temperature", m.has_temperature}, {"cells", cells}};
  if (m.imu_rate_hz) root["imu"] = {{"rate_hz", *m.imu_rate_hz}};
  json cameras = json::array();
  for (const CameraInfo& camera : m.cameras) {
    json c = {
        {"id", camera.id},
        {"name", camera.name},
        {"role", camera.role == CameraRole::kBasket ? "basket" : "scanner"},
        {"width_px", camera.width_px},
        {"height_px", camera.height_px},
        {"fps", camera.fps},
        {"capture", camera.capture == CaptureMode::kContinuous ? "continuous" : "event_triggered"},
        {"intrinsics",
         {{"fx_px", camera.intrinsics.fx_px},
          {"fy_px", camera.intrinsics.fy_px},
          {"cx_px", camera.intrinsics.cx_px},
          {"cy_px", camera.intrinsics.cy_px},
          {"distortion", camera.intrinsics.distortion}}}};
    if (camera.floor_homography) c["floor_homography"] = *camera.floor_homography;
    cameras.push_back(std::move(c));
  }
  root["cameras"] = cameras;
  root["streams"] = {{"scanner_reads", m.has_scanner_reads},
                     {"touchscreen", m.has_touchscreen},
                     {"truth", m.has_truth}};
  root["catalogue_version"] = m.catalogue_version;
  json files = json::array();
  for (const ManifestFile& file : m.files) {
    files.push_back({{"path", file.path}, {"sha256", file.sha256}, {"bytes", file.bytes}});
  }
  root["files"] = files;
  return root.dump(1) + "\n";
}

// ---- stream lines -------------------------------------------------------------------------------

std::string LoadCellHeader(int cell_count) {
  std::string header = "t_ns";
  for (int i = 0; i < cell_count; ++i) header += ",c" + std::to_string(i);
  return header + ",temperature_c";
}

Result<LoadCellSample> ParseLoadCellLine(std::string_view line, int cell_count) {
  if (cell_count < 1 || cell_count > LoadCellSample::kMaxCells) {
    return InvalidArgumentError("cell count must be 1..4");
  }
  const auto fields = SplitCommas(line);
  CS_RETURN_IF_ERROR(
      ExpectFields(fields, static_cast<std::size_t>(cell_count) + 2, LoadCellHeader(cell_count)));
  LoadCellSample sample;
  CS_ASSIGN_OR_RETURN(sample.t, ParseTime(fields[0]));
  sample.cell_count = cell_count;
  for (int i = 0; i < cell_count; ++i) {
    CS_ASSIGN_OR_RETURN(const int64_t counts,
                        ParseInt(fields[static_cast<std::size_t>(i) + 1], "c" + std::to_string(i)));
    // 24-bit ADC, sign-extended.
    if (counts < -(1 << 23) || counts >= (1 << 23)) {
      return InvalidArgumentError("c" + std::to_string(i) + ": " + std::to_string(counts) +
                                  " is outside the 24-bit ADC range");
    }
    sample.raw_counts[static_cast<std::size_t>(i)] = static_cast<int32_t>(counts);
  }
  const std::string_view temperature = fields.back();
  if (!temperature.empty()) {
    CS_ASSIGN_OR_RETURN(const double celsius, ParseFinite(temperature, "temperature_c"));
    if (celsius < -60 || celsius > 125) {
      return InvalidArgumentError("temperature_c: " + FormatDouble(celsius) +
                                  " is outside -60..125");
    }
    sample.temperature_c = celsius;
  }
  return sample;
}

std::string FormatLoadCellLine(const LoadCellSample& sample) {
  std::string line = std::to_string(sample.t.ns);
  for (int i = 0; i < sample.cell_count; ++i) {
    line += ',' + std::to_string(sample.raw_counts[static_cast<std::size_t>(i)]);
  }
  line += ',';
  if (sample.temperature_c) line += FormatDouble(*sample.temperature_c);
  return line;
}

Result<ImuSample> ParseImuLine(std::string_view line) {
  const auto fields = SplitCommas(line);
  CS_RETURN_IF_ERROR(ExpectFields(fields, 4, kImuHeader));
  ImuSample sample;
  CS_ASSIGN_OR_RETURN(sample.t, ParseTime(fields[0]));
  CS_ASSIGN_OR_RETURN(sample.ax_mps2, ParseFinite(fields[1], "ax_mps2"));
  CS_ASSIGN_OR_RETURN(sample.ay_mps2, ParseFinite(fields[2], "ay_mps2"));
  CS_ASSIGN_OR_RETURN(sample.az_mps2, ParseFinite(fields[3], "az_mps2"));
  return sample;
}

std::string FormatImuLine(const ImuSample& sample) {
  return std::to_string(sample.t.ns) + ',' + FormatDouble(sample.ax_mps2) + ',' +
         FormatDouble(sample.ay_mps2) + ',' + FormatDouble(sample.az_mps2);
}

Result<FrameRecord> ParseFrameLine(std::string_view line) {
  const auto fields = SplitCommas(line);
  CS_RETURN_IF_ERROR(ExpectFields(fields, 4, kFrameHeader));
  FrameRecord frame;
  CS_ASSIGN_OR_RETURN(frame.t, ParseTime(fields[0]));
  CS_ASSIGN_OR_RETURN(frame.frame_index, ParseInt(fields[1], "frame_index"));
  CS_ASSIGN_OR_RETURN(frame.clip, ParseInt(fields[2], "clip"));
  if (frame.frame_index < 0 || frame.clip < 0) {
    return InvalidArgumentError("frame_index and clip must not be negative");
  }
  CS_ASSIGN_OR_RETURN(frame.file, DecodeText(fields[3], "file"));
  if (!IsSafeRelativePath(frame.file) || frame.file.find('/') != std::string::npos) {
    return InvalidArgumentError("file: '" + frame.file.substr(0, 80) +
                                "' must be a plain file name in the camera folder");
  }
  return frame;
}

std::string FormatFrameLine(const FrameRecord& frame) {
  return std::to_string(frame.t.ns) + ',' + std::to_string(frame.frame_index) + ',' +
         std::to_string(frame.clip) + ',' + EncodeText(frame.file);
}

std::string_view BarcodeFormatName(BarcodeFormat format) {
  switch (format) {
    case BarcodeFormat::kEan13:
      return "EAN13";
    case BarcodeFormat::kEan8:
      return "EAN8";
    case BarcodeFormat::kUpcA:
      return "UPCA";
    case BarcodeFormat::kUpcE:
      return "UPCE";
    case BarcodeFormat::kGs1DataBar:
      return "GS1_DATABAR";
    case BarcodeFormat::kOther:
      return "OTHER";
  }
  return "OTHER";
}

Result<BarcodeFormat> ParseBarcodeFormat(std::string_view name) {
  for (const BarcodeFormat format :
       {BarcodeFormat::kEan13, BarcodeFormat::kEan8, BarcodeFormat::kUpcA, BarcodeFormat::kUpcE,
        BarcodeFormat::kGs1DataBar, BarcodeFormat::kOther}) {
    if (name == BarcodeFormatName(format)) return format;
  }
  return InvalidArgumentError("format: unknown barcode format '" + std::string(name.substr(0, 32)) +
                              "'");
}

Result<ScannerRead> ParseScannerLine(std::string_view line) {
  const auto fields = SplitCommas(line);
  CS_RETURN_IF_ERROR(ExpectFields(fields, 4, kScannerHeader));
  ScannerRead read;
  CS_ASSIGN_OR_RETURN(read.t, ParseTime(fields[0]));
  CS_ASSIGN_OR_RETURN(const int64_t camera, ParseInt(fields[1], "camera_id"));
  if (camera < 0 || camera > 255) return InvalidArgumentError("camera_id: must be 0..255");
  read.camera_id = static_cast<int>(camera);
  CS_ASSIGN_OR_RETURN(read.format, ParseBarcodeFormat(fields[2]));
  const std::string_view gtin = fields[3];
  if (gtin.empty() || gtin.size() > 14) return InvalidArgumentError("gtin: expected 1..14 digits");
  for (const char c : gtin) {
    if (c < '0' || c > '9') return InvalidArgumentError("gtin: expected digits only");
  }
  read.gtin = std::string(gtin);
  return read;
}

std::string FormatScannerLine(const ScannerRead& read) {
  return std::to_string(read.t.ns) + ',' + std::to_string(read.camera_id) + ',' +
         std::string(BarcodeFormatName(read.format)) + ',' + read.gtin;
}

std::string_view ShopperActionKindName(ShopperAction::Kind kind) {
  switch (kind) {
    case ShopperAction::Kind::kAnswerPrompt:
      return "answer_prompt";
    case ShopperAction::Kind::kChooseProduct:
      return "choose_product";
    case ShopperAction::Kind::kRemoveItem:
      return "remove_item";
    case ShopperAction::Kind::kRequestHelp:
      return "request_help";
    case ShopperAction::Kind::kStartCheckout:
      return "start_checkout";
  }
  return "answer_prompt";
}

Result<ShopperAction::Kind> ParseShopperActionKind(std::string_view name) {
  for (const auto kind : {ShopperAction::Kind::kAnswerPrompt, ShopperAction::Kind::kChooseProduct,
                          ShopperAction::Kind::kRemoveItem, ShopperAction::Kind::kRequestHelp,
                          ShopperAction::Kind::kStartCheckout}) {
    if (name == ShopperActionKindName(kind)) return kind;
  }
  return InvalidArgumentError("kind: unknown touchscreen action '" +
                              std::string(name.substr(0, 32)) + "'");
}

Result<ShopperAction> ParseTouchscreenLine(std::string_view line) {
  const auto fields = SplitCommas(line);
  CS_RETURN_IF_ERROR(ExpectFields(fields, 5, kTouchscreenHeader));
  ShopperAction action;
  CS_ASSIGN_OR_RETURN(action.t, ParseTime(fields[0]));
  CS_ASSIGN_OR_RETURN(action.kind, ParseShopperActionKind(fields[1]));
  CS_ASSIGN_OR_RETURN(action.prompt_id, DecodeText(fields[2], "prompt_id"));
  CS_ASSIGN_OR_RETURN(action.product_id, DecodeText(fields[3], "product_id"));
  CS_ASSIGN_OR_RETURN(action.answer, DecodeText(fields[4], "answer"));
  return action;
}

std::string FormatTouchscreenLine(const ShopperAction& action) {
  return std::to_string(action.t.ns) + ',' + std::string(ShopperActionKindName(action.kind)) + ',' +
         EncodeText(action.prompt_id) + ',' + EncodeText(action.product_id) + ',' +
         EncodeText(action.answer);
}

}  // namespace cartsense::session
