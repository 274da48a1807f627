#include "session/session_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <unistd.h>

#include "core/checksum.h"

namespace cartsense::session {
namespace {

namespace fs = std::filesystem;

// fsync a file or folder by path; the manifest is only written once its data is durable.
Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return UnavailableError(path + ": cannot open to sync: " + ErrnoMessage(errno));
  const int result = ::fsync(fd);
  ::close(fd);
  if (result != 0) return UnavailableError(path + ": fsync failed: " + ErrnoMessage(errno));
  return Status::Ok();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

SessionWriter::SessionWriter(std::string dir, SessionManifest header, WriterOptions options)
    : dir_(std::move(dir)), manifest_(std::move(header)), options_(options) {}

SessionWriter::~SessionWriter() = default;

Result<std::unique_ptr<SessionWriter>> SessionWriter::Create(const std::string& dir,
                                                             SessionManifest header,
                                                             WriterOptions options) {
  std::error_code error;
  if (fs::exists(dir, error) && !(fs::is_directory(dir) && fs::is_empty(dir, error))) {
    return AlreadyExistsError(dir + ": exists and is not an empty folder");
  }
  if (header.session_id.empty()) return InvalidArgumentError("session_id is required");
  if (header.origin != "recorded" && header.origin != "simulated") {
    return InvalidArgumentError("origin must be 'recorded' or 'simulated'");
  }
  if (header.load_cells.size() < 3 || header.load_cells.size() > 4) {
    return InvalidArgumentError("a session needs 3 or 4 load cells");
  }
  if (options.jpeg_quality < 0 || options.jpeg_quality > 100) {
    return InvalidArgumentError("jpeg_quality must be 0..100");
  }
  fs::create_directories(dir, error);
  if (error) return UnavailableError(dir + ": cannot create: " + error.message());
  if (header.created_utc.empty()) header.created_utc = UtcNow();
  header.files.clear();
  auto writer = std::unique_ptr<SessionWriter>(new SessionWriter(dir, std::move(header), options));
  SessionManifest& m = writer->manifest_;
  CS_RETURN_IF_ERROR(writer->OpenStream(writer->loadcell_, std::string(kLoadCellFile),
                                        LoadCellHeader(static_cast<int>(m.load_cells.size()))));
  if (m.imu_rate_hz) {
    CS_RETURN_IF_ERROR(writer->OpenStream(writer->imu_, std::string(kImuFile), kImuHeader));
  }
  if (m.has_scanner_reads) {
    CS_RETURN_IF_ERROR(
        writer->OpenStream(writer->scanner_, std::string(kScannerFile), kScannerHeader));
  }
  if (m.has_touchscreen) {
    CS_RETURN_IF_ERROR(writer->OpenStream(writer->touchscreen_, std::string(kTouchscreenFile),
                                          kTouchscreenHeader));
  }
  for (const CameraInfo& camera : m.cameras) {
    if (writer->cameras_.count(camera.id) != 0) {
      return InvalidArgumentError("two cameras with id " + std::to_string(camera.id));
    }
    const std::string folder = "cameras/" + camera.name;
    fs::create_directories(writer->PathOfRelative(folder), error);
    if (error) return UnavailableError(folder + ": cannot create: " + error.message());
    CS_RETURN_IF_ERROR(writer->OpenStream(writer->cameras_[camera.id].frames,
                                          folder + "/" + std::string(kFramesFile), kFrameHeader));
  }
  return writer;
}

std::string SessionWriter::PathOfRelative(const std::string& relative) const {
  return dir_ + "/" + relative;
}

Status SessionWriter::OpenStream(Stream& stream, const std::string& relative,
                                 std::string_view header) {
  stream.path = relative;
  stream.out.open(PathOfRelative(relative), std::ios::binary | std::ios::trunc);
  if (!stream.out) return UnavailableError(PathOfRelative(relative) + ": cannot create");
  stream.out << header << '\n';
  return Status::Ok();
}

Status SessionWriter::Append(Stream& stream, Timestamp t, const std::string& line) {
  if (finished_) return FailedPreconditionError(dir_ + ": the session is finished");
  if (!stream.out.is_open()) {
    return FailedPreconditionError(dir_ + ": the manifest header does not announce this stream");
  }
  if (t.ns < 0) return InvalidArgumentError(stream.path + ": negative timestamp");
  if (t < stream.last) {
    return InvalidArgumentError(stream.path + ": timestamp " + std::to_string(t.ns) +
                                " is earlier than the previous " + std::to_string(stream.last.ns));
  }
  stream.out << line << '\n';
  if (!stream.out) return UnavailableError(PathOfRelative(stream.path) + ": write failed");
  stream.last = t;
  ++stream.rows;
  first_ = std::min(first_, t);
  last_ = std::max(last_, t);
  return Status::Ok();
}

Status SessionWriter::AddLoadCell(const LoadCellSample& sample) {
  if (sample.cell_count != static_cast<int>(manifest_.load_cells.size())) {
    return InvalidArgumentError("load-cell sample has " + std::to_string(sample.cell_count) +
                                " cells, the session " +
                                std::to_string(manifest_.load_cells.size()));
  }
  return Append(loadcell_, sample.t, FormatLoadCellLine(sample));
}

Status SessionWriter::AddImu(const ImuSample& sample) {
  return Append(imu_, sample.t, FormatImuLine(sample));
}

Status SessionWriter::AddScannerRead(const ScannerRead& read) {
  return Append(scanner_, read.t, FormatScannerLine(read));
}

Status SessionWriter::AddTouchscreen(const ShopperAction& action) {
  return Append(touchscreen_, action.t, FormatTouchscreenLine(action));
}

Status SessionWriter::AddFrame(int camera_id, Timestamp t, int64_t clip, const cv::Mat& image) {
  if (image.empty() || image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3)) {
    return InvalidArgumentError("camera " + std::to_string(camera_id) +
                                ": frames must be 8-bit grey or BGR images");
  }
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality})) {
    return InternalError("JPEG encoding failed");
  }
  return AddFrameJpeg(camera_id, t, clip,
                      std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()));
}

Status SessionWriter::AddFrameJpeg(int camera_id, Timestamp t, int64_t clip,
                                   std::string_view jpeg) {
  const auto it = cameras_.find(camera_id);
  if (it == cameras_.end()) {
    return InvalidArgumentError("no camera with id " + std::to_string(camera_id));
  }
  CameraState& camera = it->second;
  if (t < camera.frames.last) {
    return InvalidArgumentError(camera.frames.path + ": timestamp goes backwards");
  }
  if (clip < 0) return InvalidArgumentError("clip must not be negative");
  FrameRecord record;
  record.t = t;
  record.frame_index = camera.next_index;
  record.clip = clip;
  char name[32];
  std::snprintf(name, sizeof name, "%07lld.jpg", static_cast<long long>(record.frame_index));
  record.file = name;
  const std::string folder = camera.frames.path.substr(0, camera.frames.path.rfind('/'));
  std::ofstream out(PathOfRelative(folder + "/" + record.file), std::ios::binary);
  out.write(jpeg.data(), static_cast<std::streamsize>(jpeg.size()));
  if (!out) return UnavailableError(PathOfRelative(folder + "/" + record.file) + ": write failed");
  CS_RETURN_IF_ERROR(Append(camera.frames, t, FormatFrameLine(record)));
  ++camera.next_index;
  return Status::Ok();
}

Status SessionWriter::SetTruth(std::string_view json_text) {
  if (!manifest_.has_truth) {
    return FailedPreconditionError("the manifest header does not announce ground truth");
  }
  const auto parsed = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgumentError("ground truth must be a JSON object");
  }
  std::ofstream out(PathOfRelative(std::string(kTruthFile)), std::ios::binary | std::ios::trunc);
  out << json_text;
  if (!out) return UnavailableError(PathOfRelative(std::string(kTruthFile)) + ": write failed");
  truth_written_ = true;
  return Status::Ok();
}

Result<SessionManifest> SessionWriter::Finish() {
  if (finished_) return FailedPreconditionError(dir_ + ": already finished");
  if (manifest_.has_truth && !truth_written_) {
    return FailedPreconditionError(dir_ + ": ground truth announced but never set");
  }
  for (Stream* stream : {&loadcell_, &imu_, &scanner_, &touchscreen_}) {
    if (stream->out.is_open()) stream->out.close();
  }
  for (auto& [id, camera] : cameras_) {
    if (camera.frames.out.is_open()) camera.frames.out.close();
  }
  finished_ = true;
  manifest_.start = first_ == Timestamp::Max() ? Timestamp() : first_;
  manifest_.end = last_ == Timestamp::Min() ? manifest_.start : last_;
  // Hash and sync every file, in a stable order.
  std::vector<std::string> relatives;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir_, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file()) continue;
    const std::string relative = fs::relative(it->path(), dir_).generic_string();
    if (relative == kManifestFile || relative.ends_with(".tmp")) continue;
    relatives.push_back(relative);
  }
  if (error) return UnavailableError(dir_ + ": cannot list: " + error.message());
  std::sort(relatives.begin(), relatives.end());
  manifest_.files.clear();
  for (const std::string& relative : relatives) {
    const std::string path = PathOfRelative(relative);
    CS_RETURN_IF_ERROR(SyncPath(path, /*directory=*/false));
    CS_ASSIGN_OR_RETURN(std::string sha256, Sha256File(path));
    manifest_.files.push_back({relative, std::move(sha256), fs::file_size(path)});
  }
  for (const auto& [id, camera] : cameras_) {
    const std::string folder = camera.frames.path.substr(0, camera.frames.path.rfind('/'));
    CS_RETURN_IF_ERROR(SyncPath(PathOfRelative(folder), /*directory=*/true));
  }
  // The manifest must parse with our own reader before it is published.
  const std::string text = ManifestToJson(manifest_);
  CS_RETURN_IF_ERROR(ParseManifest(text, "new manifest").status());
  CS_RETURN_IF_ERROR(WriteFileAtomically(std::string(kManifestFile), text));
  return manifest_;
}

Status SessionWriter::WriteFileAtomically(const std::string& relative, std::string_view bytes) {
  const std::string final_path = PathOfRelative(relative);
  const std::string temporary = final_path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return UnavailableError(temporary + ": write failed");
  }
  CS_RETURN_IF_ERROR(SyncPath(temporary, /*directory=*/false));
  std::error_code error;
  fs::rename(temporary, final_path, error);
  if (error) return UnavailableError(final_path + ": rename failed: " + error.message());
  return SyncPath(dir_, /*directory=*/true);
}

}  // namespace cartsense::session
