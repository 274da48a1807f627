// Labelled basket-camera crops from simulated sessions: the crops the cart's change detector cuts
// for the recognizer, each with the product the session's truth says it shows, written as an
// image folder and a split file of the dataset's format, so that training can learn from what the
// cameras see and evaluation can score it (`cartsense export-crops`, docs/cameras.md).
//
// In:  simulated sessions (truth.json with a "simulator" object; service/simulated_geometry.h)
//      and the catalogue they were made with.
// Out: for every counted (placement, camera) pair the change detector localised (the pairs of
//      `cartsense eval-vision --diagnose`: the camera's first comparison after the hand left,
//      the added region with the best IoU >= 0.5 with the true box), the region's box crop as
//      the cart sends it to the recognizer, saved losslessly (PNG) under
//      OUT/images/<session>/<item uid>-cam<camera>.png, and one line of OUT/crops.txt:
//      "images/<session>/<item uid>-cam<camera>.png, <fine id>, <coarse id>" (the dataset's
//      split format; paths relative to OUT). OUT/crops.jsonl has one JSON object per crop with
//      its provenance: session, item uid, camera, product id, the photo the simulator rendered
//      (so that a training set can refuse crops rendered from held-out photos), box, IoU.
//
// The crops carry the session's own JPEG compression (sessions store frames as JPEG); PNG adds
// none. Sessions simulated from dev photos give crops to evaluate on; only sessions simulated
// from training photos give crops to train on (the photo path in crops.jsonl says which).
//
//   CropExportWriter writer;
//   CS_RETURN_IF_ERROR(writer.Open("/tmp/crops"));
//   for (dir : sessions) CS_ASSIGN_OR_RETURN(CropExportCounts c, writer.AddSession(dir, cat, opt));
//   CS_RETURN_IF_ERROR(writer.Close());
#pragma once

#include <cstdint>
#include <fstream>
#include <set>
#include <string>

#include "catalog/catalogue.h"
#include "core/status.h"

namespace cartsense::service {

struct CropExportOptions {
  std::string split_override;  // "" = each truth.json's split
  std::string repo_root;       // for relative split paths (simulated_geometry.h)
  int min_side_px = 8;         // crops with a shorter side are left out
};

struct CropExportCounts {
  int sessions = 0;
  int pairs = 0;     // counted (placement, camera) pairs
  int exported = 0;  // crops written
  int too_small = 0;
  CropExportCounts& operator+=(const CropExportCounts& other);
};

class CropExportWriter {
 public:
  // Creates OUT (and OUT/images); refuses an OUT that already holds crops.txt, so that two
  // exports never mix silently.
  Status Open(const std::string& out_dir);
  // Exports one session's crops. Its folder name (the last path component) names its images;
  // two sessions of the same name are refused.
  Result<CropExportCounts> AddSession(const std::string& session_dir,
                                      const catalog::Catalogue& catalogue,
                                      const CropExportOptions& options);
  // The name a session's images go under: its folder's own name ("/a/s101/" -> "s101").
  static std::string SessionName(const std::string& session_dir);
  // Flushes and closes crops.txt and crops.jsonl; errors when a write failed.
  Status Close();

 private:
  std::string out_dir_;
  std::ofstream split_;
  std::ofstream provenance_;
  std::set<std::string> session_names_;
};

}  // namespace cartsense::service
