// Replays a recorded or simulated session through the cart's evidence pipeline and collects what
// the basket reasoner consumes, in the order it must consume it.
//
// The pipeline (core/pipeline.h, one thread per stage, deterministic merge):
//
//   loadcell (+ imu) ─► WeighStage(Imu) ─► weight_events, scale_status
//   camera/<basket>  ─► CameraEvidenceStage per basket camera ─► vision, camera_health
//   camera/scanner   ─► BarcodeReaderStage ─► scans      (scanner.csv when there is no camera);
//                       a scanner clip with no read ─► a scan attempt (a read with gtin "")
//   touchscreen.csv  ─────────────────────► shopper actions
//
// Weight events come out with their positions shifted into the floor frame (fusion/evidence.h).
// The records are sorted by (time, kind, arrival within the kind), so the same session always
// gives the same sequence, whatever the threads did. The reasoner runs after this, in
// service/basket_eval, because a simulated shopper answers its prompts (a loop the pipeline's
// acyclic wiring cannot hold); on the cart the reasoner is a stage (fusion/reasoner_stage.h).
//
// In:  a session folder (session/session_reader.h), the modalities to extract, a recognizer for
//      the basket cameras' crops.
// Out: SessionEvidence: the records, the weigh chain's calibration, counts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalogue.h"
#include "catalog/recognizer.h"
#include "core/packets.h"
#include "core/status.h"
#include "core/time.h"
#include "sensors/scale_calibration.h"
#include "session/session_reader.h"

namespace cartsense::service {

struct SessionEvidenceOptions {
  bool weight = true;  // run the weigh chain over the load cells
  bool vision = true;  // run change detection and recognition over the basket cameras
  bool scan = true;    // decode the scanner camera (or take scanner.csv)
  // Decode the scanner camera's frames when the session has them; false takes scanner.csv (what
  // a hardware scanner read), when present.
  bool scans_from_camera = true;
  catalog::Recognizer* recognizer = nullptr;  // required when vision is on; not owned
};

// One piece of evidence. `packet` holds one of: sensors::WeightEvent (floor frame),
// sensors::ScaleStatus, fusion::VisionEvidence, fusion::CameraHealthEvidence, ScannerRead,
// ShopperAction.
struct EvidenceRecord {
  enum class Kind : int {
    kScaleStatus = 0,
    kCameraHealth = 1,
    kWeightEvent = 2,
    kVision = 3,
    kScan = 4,
    kShopper = 5,
  };
  Kind kind = Kind::kWeightEvent;
  Packet packet;
  int64_t arrival = 0;  // order within the kind
  Timestamp t() const { return packet.timestamp(); }
};

struct SessionEvidence {
  std::string session_id;
  Timestamp start;
  Timestamp end;
  std::vector<EvidenceRecord> records;  // sorted: time, then kind, then arrival
  // Where the load cells' centre lies on the basket floor (mm, floor frame).
  sensors::PointMm cells_centre_floor_mm;
  int64_t weight_events = 0;
  int64_t scans = 0;                 // decoded reads
  int64_t scan_attempts_unread = 0;  // scanner-camera clips without a read (records with gtin "")
  int64_t vision_reports = 0;
  int64_t shopper_actions = 0;
  int64_t load_cell_samples = 0;
};

// The weigh chain's calibration from the manifest's cells: offsets, spans (1000 / grams per
// count per kg) and the cells' spacing. The manifest carries no temperature coefficients, so
// there is no temperature compensation. Errors: not 4 cells, cells not on a rectangle.
Result<sensors::ScaleCalibration> CalibrationFromManifest(const session::SessionManifest& manifest);

Result<SessionEvidence> ExtractSessionEvidence(const session::SessionReader& reader,
                                               const SessionEvidenceOptions& options);

}  // namespace cartsense::service
