// The session simulator behind `cartsense sim`: plans a shopping session (shopper.h), runs the
// load-cell physics (load_cell_model.h) and renders the cameras (scene_renderer.h,
// barcode_renderer.h), and writes it all as a session (session/session_writer.h) with its
// ground truth.
//
// In:  a scenario, a number of items and a seed; the catalogue; a split file of product photos.
// Out: a session folder; the same inputs give byte-identical files (created_utc is fixed).
//
//   SimOptions options;
//   options.plan = {.scenario = "random", .items = 25, .seed = 7};
//   options.out_dir = "/tmp/s7";
//   Result<SimSummary> summary = SimulateSession(options, catalogue, images);
#pragma once

#include <cstdint>
#include <string>

#include "catalog/catalogue.h"
#include "core/status.h"
#include "sim/product_images.h"
#include "sim/shopper.h"

namespace cartsense::sim {

struct SimOptions {
  PlanOptions plan;
  std::string out_dir;
  std::string images_label;  // how the split file is named in truth.json
  int jpeg_quality = 55;
  double basket_fps = 15;
  double scanner_fps = 15;
  double clip_pad_s = 0.15;  // event-triggered clips start this long before a motion, end after
  int threads = 2;           // frames are rendered and encoded in parallel, written in order
};

struct SimSummary {
  double duration_s = 0;
  int64_t basket_frames = 0;
  int64_t scanner_frames = 0;
  int64_t clips = 0;
  int actions = 0;
  int scans = 0;
  int hard_scans = 0;
  uint64_t bytes = 0;
};

// The session's manifest timestamp: simulated sessions carry a fixed one so that identical
// inputs give identical files.
inline constexpr const char* kSimulatedCreatedUtc = "2000-01-01T00:00:00Z";

Result<SimSummary> SimulateSession(const SimOptions& options, const catalog::Catalogue& catalogue,
                                   const ProductImages& images);

}  // namespace cartsense::sim
