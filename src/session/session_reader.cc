#include "session/session_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/checksum.h"

namespace cartsense::session {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxLineBytes = 64 * 1024;
constexpr uintmax_t kMaxManifestBytes = 64ull * 1024 * 1024;

Result<std::string> ReadWholeFile(const std::string& path, uintmax_t max_bytes) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  if (error) return NotFoundError(path + ": missing or unreadable");
  if (size > max_bytes) return InvalidArgumentError(path + ": too large");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size())) {
    return DataLossError(path + ": short read");
  }
  return bytes;
}

// Reads a line-per-record stream file: checks the header, parses every line, and refuses
// timestamps that go backwards. Errors carry "path:line".
template <typename T>
class LineFileSource final : public PacketSource {
 public:
  using Parser = std::function<Result<T>(std::string_view)>;
  using Wrapper = std::function<Result<Packet>(T)>;

  static Result<std::unique_ptr<LineFileSource>> Open(const std::string& path,
                                                      const std::string& expected_header,
                                                      Parser parse, Wrapper wrap) {
    auto source = std::unique_ptr<LineFileSource>(
        new LineFileSource(path, std::move(parse), std::move(wrap)));
    source->in_.open(path, std::ios::binary);
    if (!source->in_) return NotFoundError(path + ": cannot open");
    CS_ASSIGN_OR_RETURN(const std::optional<std::string> header, source->ReadLine());
    if (!header) return InvalidArgumentError(path + ":1: empty file (no header line)");
    if (*header != expected_header) {
      return InvalidArgumentError(path + ":1: header is '" + header->substr(0, 100) +
                                  "', expected '" + expected_header + "'");
    }
    return source;
  }

  Result<std::optional<Packet>> Next() override {
    CS_ASSIGN_OR_RETURN(const std::optional<std::string> line, ReadLine());
    if (!line) return std::optional<Packet>();
    auto parsed = parse_(*line);
    if (!parsed.ok()) return std::move(parsed).status().WithContext(Where());
    CS_ASSIGN_OR_RETURN(Packet packet, wrap_(std::move(parsed).value()));
    if (packet.timestamp() < last_) {
      return InvalidArgumentError(Where() + ": timestamp " + std::to_string(packet.timestamp().ns) +
                                  " is earlier than the previous line's " +
                                  std::to_string(last_.ns));
    }
    last_ = packet.timestamp();
    return std::optional<Packet>(std::move(packet));
  }

 private:
  LineFileSource(std::string path, Parser parse, Wrapper wrap)
      : path_(std::move(path)), parse_(std::move(parse)), wrap_(std::move(wrap)) {}

  std::string Where() const { return path_ + ":" + std::to_string(line_number_); }

  // The next line without its '\n'; nullopt at a clean end of file.
  Result<std::optional<std::string>> ReadLine() {
    std::string line;
    char c = 0;
    while (in_.get(c)) {
      if (c == '\n') {
        ++line_number_;
        return std::optional<std::string>(std::move(line));
      }
      line += c;
      if (line.size() > kMaxLineBytes) {
        ++line_number_;
        return InvalidArgumentError(Where() + ": line longer than 64 KiB");
      }
    }
    if (in_.bad()) return DataLossError(path_ + ": read error");
    if (!line.empty()) {
      ++line_number_;
      return DataLossError(Where() + ": last line has no line terminator (truncated file?)");
    }
    return std::optional<std::string>();
  }

  std::string path_;
  Parser parse_;
  Wrapper wrap_;
  std::ifstream in_;
  int64_t line_number_ = 0;
  Timestamp last_ = Timestamp::Min();
};

template <typename T>
Result<Packet> WrapPlain(T value) {
  const Timestamp t = value.t;
  return Packet::Make(t, std::move(value));
}

// Frames of one camera: rows of frames.csv, each decoded from its JPEG file when read.
class CameraFrameSource final : public PacketSource {
 public:
  CameraFrameSource(std::unique_ptr<PacketSource> rows, std::string folder, int camera_id,
                    bool decode)
      : rows_(std::move(rows)),
        folder_(std::move(folder)),
        camera_id_(camera_id),
        decode_(decode) {}

  Result<std::optional<Packet>> Next() override {
    CS_ASSIGN_OR_RETURN(std::optional<Packet> row, rows_->Next());
    if (!row) return std::optional<Packet>();
    const FrameRecord& record = row->Value<FrameRecord>();
    CameraFrame frame;
    frame.t = record.t;
    frame.camera_id = camera_id_;
    frame.frame_index = record.frame_index;
    if (decode_) {
      const std::string path = folder_ + "/" + record.file;
      CS_ASSIGN_OR_RETURN(const std::string bytes, ReadWholeFile(path, 64ull * 1024 * 1024));
      const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                           const_cast<char*>(bytes.data()));  // NOLINT: imdecode only reads
      frame.image = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
      if (frame.image.empty()) return DataLossError(path + ": not a decodable image");
    }
    return std::optional<Packet>(Packet::Make(record.t, std::move(frame)));
  }

 private:
  std::unique_ptr<PacketSource> rows_;
  std::string folder_;
  int camera_id_;
  bool decode_;
};

Result<std::unique_ptr<PacketSource>> OpenFrameRows(const std::string& path) {
  CS_ASSIGN_OR_RETURN(auto source,
                      LineFileSource<FrameRecord>::Open(path, std::string(kFrameHeader),
                                                        ParseFrameLine, WrapPlain<FrameRecord>));
  return std::unique_ptr<PacketSource>(std::move(source));
}

}  // namespace

std::string CameraStreamName(const CameraInfo& camera) { return "camera/" + camera.name; }

std::string SessionReader::PathOf(std::string_view relative) const {
  return dir_ + "/" + std::string(relative);
}

Result<SessionReader> SessionReader::Open(const std::string& dir, OpenOptions options) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return NotFoundError(dir + ": not a session folder");
  const std::string manifest_path = dir + "/" + std::string(kManifestFile);
  if (!fs::exists(manifest_path, error)) {
    return NotFoundError(manifest_path +
                         ": missing (the session was never finished, or this is not a session)");
  }
  CS_ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(manifest_path, kMaxManifestBytes));
  CS_ASSIGN_OR_RETURN(SessionManifest manifest, ParseManifest(text, manifest_path));
  SessionReader reader(dir, std::move(manifest));
  if (!options.verify_files) return reader;

  std::set<std::string> listed;
  for (const ManifestFile& file : reader.manifest_.files) {
    const std::string path = reader.PathOf(file.path);
    listed.insert(file.path);
    if (!fs::is_regular_file(path, error)) return NotFoundError(path + ": missing");
    const uintmax_t size = fs::file_size(path, error);
    if (error || size != file.bytes) {
      return DataLossError(path + ": " + std::to_string(size) + " bytes, the manifest says " +
                           std::to_string(file.bytes) + " (truncated or appended to)");
    }
    CS_ASSIGN_OR_RETURN(const std::string sha256, Sha256File(path));
    if (sha256 != file.sha256) {
      return DataLossError(path + ": sha256 mismatch (altered or damaged)");
    }
  }
  // Nothing in the folder that the manifest does not account for.
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_directory()) continue;
    const std::string relative = fs::relative(it->path(), dir).generic_string();
    if (relative == kManifestFile) continue;
    if (listed.count(relative) == 0) {
      return DataLossError(it->path().string() + ": not listed in the manifest (unexpected file)");
    }
  }
  if (error) return DataLossError(dir + ": cannot list the folder: " + error.message());
  return reader;
}

Result<std::unique_ptr<PacketSource>> SessionReader::LoadCellSource() const {
  const int cells = static_cast<int>(manifest_.load_cells.size());
  CS_ASSIGN_OR_RETURN(auto source,
                      LineFileSource<LoadCellSample>::Open(
                          PathOf(kLoadCellFile), LoadCellHeader(cells),
                          [cells](std::string_view line) { return ParseLoadCellLine(line, cells); },
                          WrapPlain<LoadCellSample>));
  return std::unique_ptr<PacketSource>(std::move(source));
}

Result<std::unique_ptr<PacketSource>> SessionReader::ImuSource() const {
  if (!manifest_.imu_rate_hz) return NotFoundError(dir_ + ": the session has no IMU stream");
  CS_ASSIGN_OR_RETURN(auto source,
                      LineFileSource<ImuSample>::Open(PathOf(kImuFile), std::string(kImuHeader),
                                                      ParseImuLine, WrapPlain<ImuSample>));
  return std::unique_ptr<PacketSource>(std::move(source));
}

Result<std::unique_ptr<PacketSource>> SessionReader::ScannerSource() const {
  if (!manifest_.has_scanner_reads) return NotFoundError(dir_ + ": no scanner reads");
  CS_ASSIGN_OR_RETURN(auto source, LineFileSource<ScannerRead>::Open(
                                       PathOf(kScannerFile), std::string(kScannerHeader),
                                       ParseScannerLine, WrapPlain<ScannerRead>));
  return std::unique_ptr<PacketSource>(std::move(source));
}

Result<std::unique_ptr<PacketSource>> SessionReader::TouchscreenSource() const {
  if (!manifest_.has_touchscreen) return NotFoundError(dir_ + ": no touchscreen stream");
  CS_ASSIGN_OR_RETURN(auto source, LineFileSource<ShopperAction>::Open(
                                       PathOf(kTouchscreenFile), std::string(kTouchscreenHeader),
                                       ParseTouchscreenLine, WrapPlain<ShopperAction>));
  return std::unique_ptr<PacketSource>(std::move(source));
}

Result<std::unique_ptr<PacketSource>> SessionReader::CameraSource(int camera_id,
                                                                  bool decode_images) const {
  for (const CameraInfo& camera : manifest_.cameras) {
    if (camera.id != camera_id) continue;
    const std::string folder = PathOf("cameras/" + camera.name);
    CS_ASSIGN_OR_RETURN(auto rows, OpenFrameRows(folder + "/" + std::string(kFramesFile)));
    return std::unique_ptr<PacketSource>(
        std::make_unique<CameraFrameSource>(std::move(rows), folder, camera.id, decode_images));
  }
  return NotFoundError(dir_ + ": no camera with id " + std::to_string(camera_id));
}

Status SessionReader::AddAllSources(ReplayTimeline& timeline, bool decode_images) const {
  CS_ASSIGN_OR_RETURN(auto loadcell, LoadCellSource());
  timeline.AddSource(std::string(kLoadCellStream), std::move(loadcell));
  if (manifest_.imu_rate_hz) {
    CS_ASSIGN_OR_RETURN(auto imu, ImuSource());
    timeline.AddSource(std::string(kImuStream), std::move(imu));
  }
  std::vector<const CameraInfo*> cameras;
  for (const CameraInfo& camera : manifest_.cameras) cameras.push_back(&camera);
  std::sort(cameras.begin(), cameras.end(),
            [](const CameraInfo* a, const CameraInfo* b) { return a->id < b->id; });
  for (const CameraInfo* camera : cameras) {
    CS_ASSIGN_OR_RETURN(auto frames, CameraSource(camera->id, decode_images));
    timeline.AddSource(CameraStreamName(*camera), std::move(frames));
  }
  if (manifest_.has_scanner_reads) {
    CS_ASSIGN_OR_RETURN(auto scanner, ScannerSource());
    timeline.AddSource(std::string(kScannerStream), std::move(scanner));
  }
  if (manifest_.has_touchscreen) {
    CS_ASSIGN_OR_RETURN(auto touchscreen, TouchscreenSource());
    timeline.AddSource(std::string(kTouchscreenStream), std::move(touchscreen));
  }
  return Status::Ok();
}

Result<std::vector<StreamSummary>> SessionReader::Validate() const {
  std::vector<StreamSummary> summaries;
  auto drain = [&summaries](const std::string& name,
                            Result<std::unique_ptr<PacketSource>> opened) -> Status {
    CS_RETURN_IF_ERROR(opened.status());
    StreamSummary summary{name, 0, Timestamp::Max(), Timestamp::Min()};
    while (true) {
      CS_ASSIGN_OR_RETURN(std::optional<Packet> packet, (*opened)->Next());
      if (!packet) break;
      ++summary.packets;
      summary.first = std::min(summary.first, packet->timestamp());
      summary.last = std::max(summary.last, packet->timestamp());
    }
    summaries.push_back(summary);
    return Status::Ok();
  };
  CS_RETURN_IF_ERROR(drain(std::string(kLoadCellStream), LoadCellSource()));
  if (manifest_.imu_rate_hz) CS_RETURN_IF_ERROR(drain(std::string(kImuStream), ImuSource()));
  std::set<std::string> listed;
  for (const ManifestFile& file : manifest_.files) listed.insert(file.path);
  for (const CameraInfo& camera : manifest_.cameras) {
    // Every frame row names a listed file; frame indices increase.
    const std::string relative_folder = "cameras/" + camera.name;
    const std::string frames_path = PathOf(relative_folder + "/" + std::string(kFramesFile));
    CS_ASSIGN_OR_RETURN(auto rows, OpenFrameRows(frames_path));
    StreamSummary summary{CameraStreamName(camera), 0, Timestamp::Max(), Timestamp::Min()};
    int64_t previous_index = -1;
    while (true) {
      CS_ASSIGN_OR_RETURN(std::optional<Packet> row, rows->Next());
      if (!row) break;
      const FrameRecord& record = row->Value<FrameRecord>();
      const std::string where = frames_path + " row " + std::to_string(summary.packets + 1);
      if (record.frame_index <= previous_index) {
        return InvalidArgumentError(where + ": frame_index does not increase");
      }
      previous_index = record.frame_index;
      if (listed.count(relative_folder + "/" + record.file) == 0) {
        return InvalidArgumentError(where + ": frame file '" + record.file +
                                    "' is not listed in the manifest");
      }
      ++summary.packets;
      summary.first = std::min(summary.first, record.t);
      summary.last = std::max(summary.last, record.t);
    }
    summaries.push_back(summary);
  }
  if (manifest_.has_scanner_reads) {
    CS_RETURN_IF_ERROR(drain(std::string(kScannerStream), ScannerSource()));
  }
  if (manifest_.has_touchscreen) {
    CS_RETURN_IF_ERROR(drain(std::string(kTouchscreenStream), TouchscreenSource()));
  }
  for (const StreamSummary& summary : summaries) {
    if (summary.packets > 0 && (summary.first < manifest_.start || summary.last > manifest_.end)) {
      return InvalidArgumentError(dir_ + ": stream '" + summary.stream +
                                  "' has timestamps outside the manifest's start_ns..end_ns");
    }
  }
  if (manifest_.has_truth) {
    CS_ASSIGN_OR_RETURN(const std::string truth, ReadTruth());
    if (!nlohmann::json::accept(truth)) {
      return InvalidArgumentError(PathOf(kTruthFile) + ": not valid JSON");
    }
  }
  return summaries;
}

Result<std::string> SessionReader::ReadTruth() const {
  if (!manifest_.has_truth) return NotFoundError(dir_ + ": the session has no ground truth");
  return ReadWholeFile(PathOf(kTruthFile), kMaxManifestBytes);
}

}  // namespace cartsense::session
