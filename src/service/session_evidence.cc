#include "service/session_evidence.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <utility>

#include "core/config.h"
#include "core/metrics.h"
#include "core/pipeline.h"
#include "core/stage.h"
#include "core/text.h"
#include "core/timeline.h"
#include "fusion/camera_evidence_stage.h"
#include "fusion/evidence.h"
#include "sensors/weigh_chain.h"
#include "sensors/weigh_stage.h"
#include "vision/scan_stage.h"

namespace cartsense::service {
namespace {

// Scanner-camera frames further apart than this belong to different clips (scan actions).
constexpr int64_t kScannerClipGapMs = 300;
// A read decided up to this long after its clip's last frame still belongs to it (the barcode
// stage's vote window and lone-read wait).
constexpr int64_t kScanReadLateMs = 1000;

// Collects sink packets from the pipeline's threads.
class Collector {
 public:
  void Add(EvidenceRecord::Kind kind, const Packet& packet) {
    std::lock_guard<std::mutex> lock(mutex_);
    EvidenceRecord record;
    record.kind = kind;
    record.packet = packet;
    record.arrival = next_arrival_[static_cast<int>(kind)]++;
    records_.push_back(std::move(record));
  }
  std::vector<EvidenceRecord> Take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(records_);
  }

 private:
  std::mutex mutex_;
  std::vector<EvidenceRecord> records_;
  std::map<int, int64_t> next_arrival_;
};

}  // namespace

Result<sensors::ScaleCalibration> CalibrationFromManifest(
    const session::SessionManifest& manifest) {
  if (manifest.load_cells.size() != static_cast<std::size_t>(sensors::kCellCount)) {
    return InvalidArgumentError("the weigh chain needs 4 load cells; the manifest has " +
                                std::to_string(manifest.load_cells.size()));
  }
  sensors::ScaleCalibration calibration;
  calibration.cart_id = "session " + manifest.session_id;
  std::array<const session::LoadCellInfo*, sensors::kCellCount> by_cell{};
  for (const session::LoadCellInfo& cell : manifest.load_cells) {
    bool known = false;
    for (int i = 0; i < sensors::kCellCount; ++i) {
      if (cell.name == sensors::CellName(i)) {
        if (by_cell[static_cast<std::size_t>(i)] != nullptr) {
          return InvalidArgumentError("manifest: load cell " + cell.name + " listed twice");
        }
        by_cell[static_cast<std::size_t>(i)] = &cell;
        known = true;
      }
    }
    if (!known) return InvalidArgumentError("manifest: unknown load cell name " + cell.name);
  }
  for (int i = 0; i < sensors::kCellCount; ++i) {
    const session::LoadCellInfo& cell = *by_cell[static_cast<std::size_t>(i)];
    if (!(cell.grams_per_count > 0) || !std::isfinite(cell.grams_per_count)) {
      return InvalidArgumentError("manifest: load cell " + cell.name +
                                  ": grams_per_count must be > 0");
    }
    sensors::CellCalibration& c = calibration.cells[static_cast<std::size_t>(i)];
    c.offset_counts = cell.offset_counts;
    c.span_per_kg_counts = 1000.0 / cell.grams_per_count;
  }
  const auto& fl = *by_cell[sensors::kFrontLeft];
  const auto& fr = *by_cell[sensors::kFrontRight];
  const auto& bl = *by_cell[sensors::kBackLeft];
  const auto& br = *by_cell[sensors::kBackRight];
  const double spacing_x = fr.x_mm - fl.x_mm;
  const double spacing_y = bl.y_mm - fl.y_mm;
  constexpr double kToleranceMm = 1.0;
  if (!(spacing_x > 0) || !(spacing_y > 0) ||
      std::abs(br.x_mm - bl.x_mm - spacing_x) > kToleranceMm ||
      std::abs(br.y_mm - fr.y_mm - spacing_y) > kToleranceMm) {
    return InvalidArgumentError(
        "manifest: the load cells are not on a rectangle (front_left, front_right, back_left, "
        "back_right)");
  }
  calibration.geometry.cell_spacing_x_mm = spacing_x;
  calibration.geometry.cell_spacing_y_mm = spacing_y;
  return calibration;
}

Result<SessionEvidence> ExtractSessionEvidence(const session::SessionReader& reader,
                                               const SessionEvidenceOptions& options) {
  const session::SessionManifest& manifest = reader.manifest();
  SessionEvidence evidence;
  evidence.session_id = manifest.session_id;
  evidence.start = manifest.start;
  evidence.end = manifest.end;
  double cx = 0, cy = 0;
  for (const session::LoadCellInfo& cell : manifest.load_cells) {
    cx += cell.x_mm;
    cy += cell.y_mm;
  }
  if (!manifest.load_cells.empty()) {
    cx /= static_cast<double>(manifest.load_cells.size());
    cy /= static_cast<double>(manifest.load_cells.size());
  }
  evidence.cells_centre_floor_mm = {cx, cy};

  StageRegistry registry;
  CS_RETURN_IF_ERROR(sensors::RegisterSensorStages(registry));
  CS_RETURN_IF_ERROR(vision::RegisterBarcodeStages(registry));
  VirtualClock clock;
  MetricsRegistry metrics;
  Pipeline pipeline(&clock, &metrics);
  ReplayTimeline timeline(&clock, 0.0);
  Collector collector;
  // Stream name on the timeline -> source stream of the pipeline ("" = handled here).
  std::map<std::string, std::string> pipeline_source;

  const bool has_imu = manifest.imu_rate_hz.has_value();
  if (options.weight) {
    CS_ASSIGN_OR_RETURN(sensors::ScaleCalibration calibration, CalibrationFromManifest(manifest));
    CS_ASSIGN_OR_RETURN(
        Config weigh_config,
        Config::Parse("calibration:\n" + IndentLines(calibration.ToYaml(), "  "), "weigh stage"));
    CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> loadcell, reader.LoadCellSource());
    timeline.AddSource("loadcell", std::move(loadcell));
    CS_RETURN_IF_ERROR(pipeline.AddSource("loadcell"));
    pipeline_source["loadcell"] = "loadcell";
    std::map<std::string, std::string> inputs{{"samples", "loadcell"}};
    if (has_imu) {
      CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> imu, reader.ImuSource());
      timeline.AddSource("imu", std::move(imu));
      CS_RETURN_IF_ERROR(pipeline.AddSource("imu"));
      pipeline_source["imu"] = "imu";
      inputs["imu"] = "imu";
    }
    CS_ASSIGN_OR_RETURN(std::unique_ptr<Stage> weigh,
                        registry.Create(has_imu ? "WeighStageImu" : "WeighStage"));
    CS_RETURN_IF_ERROR(pipeline.AddStage("weigh", std::move(weigh), inputs,
                                         {{"events", "weight_events"}, {"status", "scale_status"}},
                                         weigh_config));
    const sensors::PointMm centre = evidence.cells_centre_floor_mm;
    CS_RETURN_IF_ERROR(pipeline.AddSink(
        "weight_events", [&collector, centre](const std::string&, const Packet& packet) {
          const auto& event = packet.Value<sensors::WeightEvent>();
          collector.Add(EvidenceRecord::Kind::kWeightEvent,
                        Packet::Make(packet.timestamp(), fusion::ShiftToFloorFrame(event, centre)));
        }));
    CS_RETURN_IF_ERROR(
        pipeline.AddSink("scale_status", [&collector](const std::string&, const Packet& packet) {
          collector.Add(EvidenceRecord::Kind::kScaleStatus, packet);
        }));
  }

  fusion::SharedRecognizer shared_recognizer;
  shared_recognizer.recognizer = options.recognizer;
  CS_RETURN_IF_ERROR(fusion::RegisterCameraEvidenceStages(registry, &shared_recognizer));
  if (options.vision) {
    if (!options.weight) {
      return InvalidArgumentError(
          "session evidence: the basket cameras' stages need the weigh chain (weight events and "
          "the load-cell clock)");
    }
    if (options.recognizer == nullptr) {
      return InvalidArgumentError("session evidence: vision needs a recognizer");
    }
    for (const session::CameraInfo& camera : manifest.cameras) {
      if (camera.role != session::CameraRole::kBasket) continue;
      if (!camera.floor_homography) {
        return InvalidArgumentError("manifest: basket camera " + camera.name +
                                    " has no floor_homography");
      }
      const std::string frames = "camera" + std::to_string(camera.id);
      CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> source, reader.CameraSource(camera.id));
      timeline.AddSource(frames, std::move(source));
      CS_RETURN_IF_ERROR(pipeline.AddSource(frames));
      pipeline_source[frames] = frames;
      std::ostringstream yaml;
      yaml.precision(17);
      yaml << "camera_id: " << camera.id << "\ncamera_name: " << camera.name
           << "\nfloor_homography: [";
      for (std::size_t i = 0; i < camera.floor_homography->size(); ++i) {
        yaml << (i ? ", " : "") << (*camera.floor_homography)[i];
      }
      yaml << "]\n";
      CS_ASSIGN_OR_RETURN(Config camera_config, Config::Parse(yaml.str(), "camera stage"));
      CS_ASSIGN_OR_RETURN(std::unique_ptr<Stage> stage, registry.Create("CameraEvidenceStage"));
      const std::string vision_stream = "vision" + std::to_string(camera.id);
      const std::string health_stream = "camera_health" + std::to_string(camera.id);
      CS_RETURN_IF_ERROR(pipeline.AddStage(
          "camera" + std::to_string(camera.id), std::move(stage),
          {{"frames", frames}, {"weight_events", "weight_events"}, {"clock", "loadcell"}},
          {{"vision", vision_stream}, {"camera_health", health_stream}}, camera_config));
      CS_RETURN_IF_ERROR(
          pipeline.AddSink(vision_stream, [&collector](const std::string&, const Packet& packet) {
            collector.Add(EvidenceRecord::Kind::kVision, packet);
          }));
      CS_RETURN_IF_ERROR(
          pipeline.AddSink(health_stream, [&collector](const std::string&, const Packet& packet) {
            collector.Add(EvidenceRecord::Kind::kCameraHealth, packet);
          }));
    }
  }

  if (options.scan) {
    const session::CameraInfo* scanner_camera = nullptr;
    for (const session::CameraInfo& camera : manifest.cameras) {
      if (camera.role == session::CameraRole::kScanner) scanner_camera = &camera;
    }
    if (options.scans_from_camera && scanner_camera != nullptr) {
      CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> frames,
                          reader.CameraSource(scanner_camera->id));
      timeline.AddSource("scanner_frames", std::move(frames));
      CS_RETURN_IF_ERROR(pipeline.AddSource("scanner_frames"));
      pipeline_source["scanner_frames"] = "scanner_frames";
      CS_ASSIGN_OR_RETURN(std::unique_ptr<Stage> barcode, registry.Create("BarcodeReaderStage"));
      CS_ASSIGN_OR_RETURN(Config barcode_config,
                          Config::Parse("camera_id: " + std::to_string(scanner_camera->id) + "\n",
                                        "barcode stage"));
      CS_RETURN_IF_ERROR(pipeline.AddStage("scanner", std::move(barcode),
                                           {{"frames", "scanner_frames"}}, {{"reads", "scans"}},
                                           barcode_config));
      CS_RETURN_IF_ERROR(
          pipeline.AddSink("scans", [&collector](const std::string&, const Packet& packet) {
            collector.Add(EvidenceRecord::Kind::kScan, packet);
          }));
    } else if (manifest.has_scanner_reads) {
      CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> reads, reader.ScannerSource());
      timeline.AddSource("scanner_csv", std::move(reads));
      pipeline_source["scanner_csv"] = "";
    }
  }
  if (manifest.has_touchscreen) {
    CS_ASSIGN_OR_RETURN(std::unique_ptr<PacketSource> touches, reader.TouchscreenSource());
    timeline.AddSource("touchscreen", std::move(touches));
    pipeline_source["touchscreen"] = "";
  }

  std::vector<Timestamp> scanner_frame_times;
  CS_RETURN_IF_ERROR(pipeline.Start());
  Status feed = Status::Ok();
  while (true) {
    Result<std::optional<TimedPacket>> next = timeline.Next();
    if (!next.ok()) {
      feed = next.status();
      break;
    }
    if (!next->has_value()) break;
    const TimedPacket& timed = **next;
    const std::string& target = pipeline_source[timed.stream];
    if (timed.stream == "loadcell") ++evidence.load_cell_samples;
    if (timed.stream == "scanner_frames") scanner_frame_times.push_back(timed.packet.timestamp());
    if (!target.empty()) {
      feed = pipeline.Push(target, timed.packet);
      if (!feed.ok()) break;
    } else if (timed.stream == "scanner_csv") {
      collector.Add(EvidenceRecord::Kind::kScan, timed.packet);
    } else if (timed.stream == "touchscreen") {
      collector.Add(EvidenceRecord::Kind::kShopper, timed.packet);
    }
  }
  if (!feed.ok()) {
    pipeline.Stop();
    (void)pipeline.Wait();
    return feed;
  }
  pipeline.CloseSources();
  CS_RETURN_IF_ERROR(pipeline.Wait());

  // Scan attempts: the scanner camera records a clip when something crosses its view; a clip
  // that gave no read (a barcode it could not decode) is reported as a read with no GTIN, so the
  // reasoner knows the shopper tried to scan (fusion/reasoner.h, OnScan).
  {
    std::vector<EvidenceRecord> records = collector.Take();
    std::vector<Timestamp> read_times;
    for (const EvidenceRecord& record : records) {
      if (record.kind == EvidenceRecord::Kind::kScan) read_times.push_back(record.t());
    }
    std::sort(read_times.begin(), read_times.end());
    std::size_t clip_start = 0;
    for (std::size_t i = 1; i <= scanner_frame_times.size(); ++i) {
      const bool clip_ends =
          i == scanner_frame_times.size() ||
          scanner_frame_times[i].ns - scanner_frame_times[i - 1].ns > kScannerClipGapMs * 1'000'000;
      if (!clip_ends) continue;
      const Timestamp first = scanner_frame_times[clip_start];
      const Timestamp last = scanner_frame_times[i - 1];
      const Timestamp read_by{last.ns + kScanReadLateMs * 1'000'000};
      const bool read = std::any_of(read_times.begin(), read_times.end(),
                                    [&](Timestamp t) { return t >= first && t <= read_by; });
      if (!read) {
        ScannerRead attempt;
        attempt.t = read_by;
        attempt.format = BarcodeFormat::kOther;
        attempt.gtin = "";
        attempt.camera_id = -1;
        EvidenceRecord record;
        record.kind = EvidenceRecord::Kind::kScan;
        record.packet = Packet::Make(read_by, attempt);
        record.arrival = static_cast<int64_t>(records.size());
        records.push_back(std::move(record));
        ++evidence.scan_attempts_unread;
      }
      clip_start = i;
    }
    evidence.records = std::move(records);
  }
  std::sort(evidence.records.begin(), evidence.records.end(),
            [](const EvidenceRecord& a, const EvidenceRecord& b) {
              if (a.t() != b.t()) return a.t() < b.t();
              if (a.kind != b.kind) return static_cast<int>(a.kind) < static_cast<int>(b.kind);
              return a.arrival < b.arrival;
            });
  for (const EvidenceRecord& record : evidence.records) {
    switch (record.kind) {
      case EvidenceRecord::Kind::kWeightEvent:
        ++evidence.weight_events;
        break;
      case EvidenceRecord::Kind::kScan:
        if (!record.packet.Value<ScannerRead>().gtin.empty()) ++evidence.scans;
        break;
      case EvidenceRecord::Kind::kVision:
        ++evidence.vision_reports;
        break;
      case EvidenceRecord::Kind::kShopper:
        ++evidence.shopper_actions;
        break;
      default:
        break;
    }
  }
  return evidence;
}

}  // namespace cartsense::service
