#include "service/crop_export.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "service/simulated_geometry.h"
#include "service/vision_eval.h"
#include "session/session_reader.h"

namespace cartsense::service {
namespace {

namespace fs = std::filesystem;

Status WritePng(const cv::Mat& image, const std::string& path) {
  try {
    if (!cv::imwrite(path, image)) return UnavailableError(path + ": cannot write the image");
  } catch (const cv::Exception& e) {
    return UnavailableError(path + ": cannot write the image: " + e.what());
  }
  return Status::Ok();
}

}  // namespace

std::string CropExportWriter::SessionName(const std::string& session_dir) {
  fs::path path(session_dir);
  if (!path.has_filename()) path = path.parent_path();
  return path.filename().string();
}

CropExportCounts& CropExportCounts::operator+=(const CropExportCounts& o) {
  sessions += o.sessions;
  pairs += o.pairs;
  exported += o.exported;
  too_small += o.too_small;
  return *this;
}

Status CropExportWriter::Open(const std::string& out_dir) {
  if (split_.is_open()) return FailedPreconditionError("crop export: already open");
  std::error_code error;
  fs::create_directories(fs::path(out_dir) / "images", error);
  if (error) return UnavailableError(out_dir + ": cannot create the folder: " + error.message());
  const std::string split_path = (fs::path(out_dir) / "crops.txt").string();
  if (fs::exists(split_path, error)) {
    return AlreadyExistsError(split_path + " exists: export into a new folder");
  }
  split_.open(split_path, std::ios::out | std::ios::trunc);
  provenance_.open((fs::path(out_dir) / "crops.jsonl").string(), std::ios::out | std::ios::trunc);
  if (!split_ || !provenance_) return UnavailableError(out_dir + ": cannot create crops.txt");
  out_dir_ = out_dir;
  return Status::Ok();
}

Result<CropExportCounts> CropExportWriter::AddSession(const std::string& session_dir,
                                                      const catalog::Catalogue& catalogue,
                                                      const CropExportOptions& options) {
  if (!split_.is_open()) return FailedPreconditionError("crop export: not open");
  const std::string name = SessionName(session_dir);
  if (name.empty() || name == "." || name == "..") {
    return InvalidArgumentError(session_dir + ": a session folder needs a name");
  }
  if (!session_names_.insert(name).second) {
    return InvalidArgumentError(session_dir + ": a session named " + name +
                                " was already exported (names name the images)");
  }
  CS_ASSIGN_OR_RETURN(const session::SessionReader reader,
                      session::SessionReader::Open(session_dir));
  CS_ASSIGN_OR_RETURN(
      const SimulatedSession simulated,
      ReplanSimulatedSession(reader, catalogue, options.split_override, options.repo_root));
  const std::vector<PlacementView> placement_views = PlacementViews(simulated);
  const fs::path image_dir = fs::path(out_dir_) / "images" / name;
  std::error_code error;
  fs::create_directories(image_dir, error);
  if (error) return UnavailableError(image_dir.string() + ": cannot create: " + error.message());

  CropExportCounts counts;
  counts.sessions = 1;
  for (const PlacementView& pv : placement_views) counts.pairs += pv.counted() ? 1 : 0;
  for (int camera = 0; camera < 2; ++camera) {
    CS_ASSIGN_OR_RETURN(const DetectorRun run, RunChangeDetector(reader, camera));
    for (const DetectorView& view : LocaliseDetectorViews(placement_views, camera, run)) {
      const cv::Mat& crop = view.region->crop_bgr;
      if (crop.empty() || std::min(crop.cols, crop.rows) < options.min_side_px) {
        ++counts.too_small;
        continue;
      }
      const int uid = view.placement->item_uid;
      const catalog::Product& product =
          *simulated.plan.items[static_cast<std::size_t>(uid)].product;
      const std::string file = std::to_string(uid) + "-cam" + std::to_string(camera) + ".png";
      const std::string relative = "images/" + name + "/" + file;
      CS_RETURN_IF_ERROR(WritePng(crop, (image_dir / file).string()));
      split_ << relative << ", " << product.fine_id << ", " << product.coarse_id << "\n";
      const cv::Rect& box = view.region->box_px;
      const nlohmann::ordered_json line = {
          {"file", relative},
          {"session", name},
          {"item_uid", uid},
          {"camera", camera},
          {"product_id", product.id},
          {"fine_id", product.fine_id},
          {"coarse_id", product.coarse_id},
          {"photo", simulated.photo_paths.at(uid)},
          {"split", simulated.split},
          {"box_px", {box.x, box.y, box.width, box.height}},
          {"iou", view.iou},
          {"single_item_reach", view.placement->single_item_reach}};
      provenance_ << line.dump() << "\n";
      ++counts.exported;
    }
  }
  split_.flush();
  provenance_.flush();
  if (!split_ || !provenance_) return UnavailableError(out_dir_ + ": cannot write crops.txt");
  return counts;
}

Status CropExportWriter::Close() {
  if (!split_.is_open()) return Status::Ok();
  split_.close();
  provenance_.close();
  if (split_.fail() || provenance_.fail()) {
    return UnavailableError(out_dir_ + ": cannot write crops.txt");
  }
  return Status::Ok();
}

}  // namespace cartsense::service
