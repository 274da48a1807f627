#include "sim/session_simulator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "session/session_writer.h"
#include "sim/load_cell_model.h"

namespace cartsense::sim {
namespace {

constexpr int kScannerCameraId = 2;
constexpr double kExposureS = 1.0 / 30;  // motion blur: how far things move while exposed

struct Interval {
  double start_s = 0;
  double end_s = 0;
};

std::vector<Interval> Merge(std::vector<Interval> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const Interval& a, const Interval& b) { return a.start_s < b.start_s; });
  std::vector<Interval> merged;
  for (const Interval& span : spans) {
    if (!merged.empty() && span.start_s <= merged.back().end_s) {
      merged.back().end_s = std::max(merged.back().end_s, span.end_s);
    } else {
      merged.push_back(span);
    }
  }
  return merged;
}

struct FrameJob {
  double t_s = 0;
  int64_t clip = 0;
};

std::vector<FrameJob> FramesOf(const std::vector<Interval>& clips, double fps, double end_s) {
  std::vector<FrameJob> jobs;
  int64_t clip_number = 0;
  int64_t last_frame = -1;
  for (const Interval& clip : clips) {
    const auto first = std::max(static_cast<int64_t>(std::ceil(std::max(clip.start_s, 0.0) * fps)),
                                last_frame + 1);
    const auto last = static_cast<int64_t>(std::floor(std::min(clip.end_s, end_s) * fps));
    if (last < first) continue;
    ++clip_number;
    for (int64_t k = first; k <= last; ++k) {
      jobs.push_back({static_cast<double>(k) / fps, clip_number});
    }
    last_frame = last;
  }
  return jobs;
}

double SmoothStep(double u) {
  u = std::clamp(u, 0.0, 1.0);
  return u * u * (3 - 2 * u);
}

cv::Vec3d Lerp(const cv::Vec3d& a, const cv::Vec3d& b, double u) { return a + (b - a) * u; }

Sprite PersonalSprite(const std::string& kind, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> shade(40, 200);
  cv::Mat bgr(kSpriteSizePx, kSpriteSizePx, CV_8UC3);
  cv::Mat alpha(kSpriteSizePx, kSpriteSizePx, CV_8U, cv::Scalar(0));
  const cv::Rect body(8, 8, kSpriteSizePx - 16, kSpriteSizePx - 16);
  if (kind == "phone") {
    bgr.setTo(cv::Scalar(25, 25, 28));
    cv::rectangle(bgr, cv::Rect(20, 16, kSpriteSizePx - 40, kSpriteSizePx - 32),
                  cv::Scalar(60, 55, 50), cv::FILLED);
    cv::line(bgr, cv::Point(30, 150), cv::Point(150, 30), cv::Scalar(110, 105, 100), 6,
             cv::LINE_AA);
  } else {
    const cv::Scalar colour(shade(rng), shade(rng), shade(rng));
    bgr.setTo(colour);
    for (int y = 20; y < kSpriteSizePx; y += 24) {
      cv::line(bgr, cv::Point(0, y), cv::Point(kSpriteSizePx, y), colour * 0.8, 3);
    }
    cv::ellipse(bgr, cv::Point(kSpriteSizePx / 2, kSpriteSizePx / 2), cv::Size(60, 30), 0, 0, 360,
                colour * 0.5, 8, cv::LINE_AA);
  }
  cv::rectangle(alpha, body, cv::Scalar(255), cv::FILLED);
  cv::GaussianBlur(alpha, alpha, cv::Size(0, 0), 3);
  return Sprite{bgr, alpha};
}

class Simulation {
 public:
  Simulation(const SimOptions& options, const SessionPlan& plan,
             const std::map<const catalog::Product*, std::vector<std::string>>& photos)
      : options_(options), plan_(plan), photos_(photos) {}

  Status LoadSprites();
  // Renders and JPEG-encodes the frames of one basket camera.
  std::vector<std::string> RenderBasket(int camera, const std::vector<FrameJob>& jobs) const;
  std::vector<std::string> RenderScanner(const std::vector<FrameJob>& jobs) const;
  std::vector<Interval> BasketClips(int camera) const;
  std::vector<Interval> ScannerClips() const;

  std::string error;

 private:
  ItemView ViewOf(const PlannedItem& item) const {
    ItemView view;
    view.sprite = &sprites_.at(item.uid);
    view.x_mm = item.x_mm;
    view.y_mm = item.y_mm;
    view.angle_rad = item.angle_rad;
    view.size = item.size;
    return view;
  }
  void AddMoving(double t, FrameState& state) const;
  std::string Encode(const cv::Mat& image) const {
    std::vector<uint8_t> bytes;
    cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality});
    return {bytes.begin(), bytes.end()};
  }
  double LightGain(double t) const {
    return 1.0 + 0.10 * std::sin(2 * std::numbers::pi * t / 23.0 + light_phase_) +
           0.05 * std::sin(2 * std::numbers::pi * t / 7.3);
  }

  const SimOptions& options_;
  const SessionPlan& plan_;
  const std::map<const catalog::Product*, std::vector<std::string>>& photos_;
  std::map<int, Sprite> sprites_;          // by item uid
  std::map<std::string, cv::Mat> labels_;  // by gtin
  std::map<std::pair<const catalog::Product*, int>, Sprite> scan_sprites_;
  double light_phase_ = 0;
};

Status Simulation::LoadSprites() {
  light_phase_ = static_cast<double>(options_.plan.seed % 628) / 100.0;
  std::map<std::pair<const catalog::Product*, int>, Sprite> cache;
  const auto load = [&](const catalog::Product* product, int index) -> Result<Sprite> {
    const auto key = std::make_pair(product, index);
    const auto hit = cache.find(key);
    if (hit != cache.end()) return hit->second;
    const std::vector<std::string>& paths = photos_.at(product);
    CS_ASSIGN_OR_RETURN(Sprite sprite,
                        LoadSprite(paths[static_cast<std::size_t>(index) % paths.size()]));
    cache.emplace(key, sprite);
    return sprite;
  };
  for (const PlannedItem& item : plan_.items) {
    if (item.product == nullptr) {
      sprites_[item.uid] = PersonalSprite(item.personal_kind, options_.plan.seed + 977 * item.uid);
      continue;
    }
    CS_ASSIGN_OR_RETURN(sprites_[item.uid], load(item.product, item.photo_index));
  }
  for (const ScanMove& scan : plan_.scans) {
    const auto key = std::make_pair(scan.product, scan.photo_index);
    CS_ASSIGN_OR_RETURN(scan_sprites_[key], load(scan.product, scan.photo_index));
    if (labels_.count(scan.product->gtin) == 0) {
      CS_ASSIGN_OR_RETURN(labels_[scan.product->gtin], RenderBarcodeLabel(scan.product->gtin));
    }
  }
  return Status::Ok();
}

std::vector<Interval> Simulation::BasketClips(int camera) const {
  const double pad = options_.clip_pad_s;
  std::vector<Interval> spans;
  for (const HandMove& move : plan_.moves)
    spans.push_back({move.enter_s - pad, move.leave_s + pad});
  for (double bump : plan_.bump_times_s) spans.push_back({bump - pad, bump + 2 * pad});
  for (const CoverSpan& cover : plan_.covers) {
    if (cover.camera == camera) spans.push_back({cover.start_s - pad, cover.end_s + pad});
  }
  return Merge(spans);
}

std::vector<Interval> Simulation::ScannerClips() const {
  std::vector<Interval> spans;
  for (const ScanMove& scan : plan_.scans) spans.push_back({scan.start_s - 0.1, scan.end_s + 0.1});
  return Merge(spans);
}

void Simulation::AddMoving(double t, FrameState& state) const {
  const BasketGeometry& basket = options_.plan.basket;
  for (const HandMove& move : plan_.moves) {
    if (t < move.enter_s || t > move.leave_s) continue;
    double carried_height = 0;
    for (int uid : move.items) {
      carried_height =
          std::max(carried_height, plan_.items[static_cast<std::size_t>(uid)].size.height_mm);
    }
    const double rim_x = 0.5 * (move.x_mm + 0.5 * basket.width_mm);
    const cv::Vec3d entry(rim_x, -60, basket.height_mm + 160);
    const cv::Vec3d shoulder(rim_x, -450, basket.height_mm + 500);
    cv::Vec3d low(move.x_mm, move.y_mm, carried_height + 30);
    if (move.kind == HandMove::Kind::kLean) low = cv::Vec3d(move.x_mm, 5, basket.height_mm + 25);
    const auto palm_at = [&](double s) {
      if (s <= move.touch_s) {
        return Lerp(entry, low, SmoothStep((s - move.enter_s) / (move.touch_s - move.enter_s)));
      }
      if (s <= move.release_s) return low;
      return Lerp(low, entry, SmoothStep((s - move.release_s) / (move.leave_s - move.release_s)));
    };
    const cv::Vec3d palm = palm_at(t);
    HandView hand;
    hand.palm_mm = palm;
    hand.shoulder_mm = shoulder;
    hand.skin_bgr = move.skin_bgr;
    state.hand = hand;
    state.motion_mm = palm - palm_at(t - kExposureS);
    const cv::Vec3d offset = palm - low;
    for (int uid : move.items) {
      const PlannedItem& item = plan_.items[static_cast<std::size_t>(uid)];
      const bool carried_in = move.kind == HandMove::Kind::kPlace && t < item.placed_s;
      const bool carried_out = move.kind == HandMove::Kind::kRemove && t >= item.removed_s;
      if (!carried_in && !carried_out) continue;
      ItemView view = ViewOf(item);
      view.x_mm += offset[0];
      view.y_mm += offset[1];
      view.z_mm = std::max(0.0, offset[2]);
      state.moving.push_back(view);
    }
    return;  // one hand in the basket at a time
  }
}

std::vector<std::string> Simulation::RenderBasket(int camera,
                                                  const std::vector<FrameJob>& jobs) const {
  const CameraModel model(
      BasketCameraPoses(options_.plan.basket)[static_cast<std::size_t>(camera)]);
  const BasketCameraRenderer renderer(model, options_.plan.basket,
                                      options_.plan.seed + 31 * camera);
  std::vector<std::string> encoded;
  encoded.reserve(jobs.size());
  std::vector<int> still_items{-1};
  cv::Mat still;
  for (const FrameJob& job : jobs) {
    const double t = job.t_s;
    std::vector<int> lying;
    for (const PlannedItem& item : plan_.items) {
      if (item.placed_s <= t && item.removed_s > t) lying.push_back(item.uid);
    }
    if (lying != still_items) {
      std::vector<ItemView> views;
      views.reserve(lying.size());
      for (int uid : lying) views.push_back(ViewOf(plan_.items[static_cast<std::size_t>(uid)]));
      still = renderer.RenderStatic(views);
      still_items = lying;
    }
    FrameState state;
    AddMoving(t, state);
    state.light_gain = LightGain(t) * (camera == 0 ? 1.0 : 0.95);
    state.tint_bgr =
        cv::Vec3d(1.0 + 0.04 * std::sin(t / 31.0), 1.0, 1.0 - 0.04 * std::sin(t / 31.0));
    for (const CoverSpan& cover : plan_.covers) {
      if (cover.camera != camera || t < cover.start_s - 0.3 || t > cover.end_s + 0.3) continue;
      state.cover = std::min({1.0, (t - cover.start_s + 0.3) / 0.4, (cover.end_s + 0.3 - t) / 0.4});
    }
    for (double bump : plan_.bump_times_s) {
      const double since = t - bump;
      if (since < 0 || since > 0.5) continue;
      const double amplitude = 6 * std::exp(-8 * since);
      state.shake_px =
          cv::Vec2d(amplitude * std::sin(60 * since), amplitude * std::cos(45 * since));
    }
    encoded.push_back(Encode(renderer.RenderFrame(still, state)));
  }
  return encoded;
}

std::vector<std::string> Simulation::RenderScanner(const std::vector<FrameJob>& jobs) const {
  const ScannerRenderer renderer(640, 480, options_.plan.seed);
  std::vector<std::string> encoded;
  encoded.reserve(jobs.size());
  for (const FrameJob& job : jobs) {
    const ScanMove* active = nullptr;
    for (const ScanMove& scan : plan_.scans) {
      if (job.t_s >= scan.start_s && job.t_s <= scan.end_s) active = &scan;
    }
    if (active == nullptr) {
      encoded.push_back(Encode(renderer.RenderEmpty(LightGain(job.t_s))));
      continue;
    }
    const double progress =
        (job.t_s - active->centre_s) / (0.5 * (active->end_s - active->start_s));
    encoded.push_back(
        Encode(renderer.RenderFrame(&scan_sprites_.at({active->product, active->photo_index}),
                                    labels_.at(active->product->gtin), active->view, progress)));
  }
  return encoded;
}

std::string TruthJson(const SimOptions& options, const SessionPlan& plan, const SimSummary& summary,
                      const std::string& catalogue_version) {
  nlohmann::ordered_json truth;
  truth["simulator"] = {{"scenario", options.plan.scenario},
                        {"items", options.plan.items},
                        {"seed", options.plan.seed},
                        {"images", options.images_label},
                        {"catalogue_version", catalogue_version},
                        {"hard_case_shares",
                         {{"rotation", options.plan.hard_cases.rotation},
                          {"small_modules", options.plan.hard_cases.small_modules},
                          {"motion_blur", options.plan.hard_cases.motion_blur}}},
                        {"scans", summary.scans},
                        {"hard_scans", summary.hard_scans}};
  nlohmann::ordered_json actions = nlohmann::ordered_json::array();
  for (const TruthAction& action : plan.truth) {
    nlohmann::ordered_json details = nlohmann::ordered_json::object();
    for (const auto& [key, literal] : action.details) {
      details[key] = nlohmann::ordered_json::parse(literal);
    }
    actions.push_back({{"t_ns", Timestamp::FromSeconds(action.t_s).ns},
                       {"kind", action.kind},
                       {"product_id", action.product_id},
                       {"behaviour", std::string(BehaviourTag(action.behaviour))},
                       {"details", details}});
  }
  truth["actions"] = actions;
  std::map<std::string, std::pair<int, double>> basket;
  nlohmann::ordered_json personal = nlohmann::ordered_json::array();
  for (const PlannedItem& item : plan.items) {
    if (!std::isfinite(item.placed_s) || std::isfinite(item.removed_s)) continue;
    if (item.product == nullptr) {
      personal.push_back({{"kind", item.personal_kind}, {"mass_g", item.mass_g}});
      continue;
    }
    auto& entry = basket[item.product->id];
    entry.first += 1;
    entry.second += item.mass_g;
  }
  nlohmann::ordered_json final_basket = nlohmann::ordered_json::array();
  for (const auto& [id, entry] : basket) {
    final_basket.push_back(
        {{"product_id", id}, {"quantity", entry.first}, {"mass_g", entry.second}});
  }
  truth["final_basket"] = final_basket;
  truth["personal_items"] = personal;
  return truth.dump(2) + "\n";
}

}  // namespace

Result<SimSummary> SimulateSession(const SimOptions& options, const catalog::Catalogue& catalogue,
                                   const ProductImages& images) {
  // Products the catalogue knows that have photos in the split.
  std::vector<const catalog::Product*> products;
  std::vector<int> photo_counts;
  std::map<const catalog::Product*, std::vector<std::string>> photos;
  for (int fine_id : images.FineIds()) {
    const catalog::Product* product = catalogue.FindByFineId(fine_id);
    if (product == nullptr) continue;
    products.push_back(product);
    photo_counts.push_back(static_cast<int>(images.PhotosOf(fine_id).size()));
    photos[product] = images.PhotosOf(fine_id);
  }
  if (products.empty()) {
    return InvalidArgumentError("no photo in the split file shows a product the catalogue knows");
  }
  CS_ASSIGN_OR_RETURN(const SessionPlan plan, PlanSession(options.plan, products, photo_counts));
  Simulation simulation(options, plan, photos);
  CS_RETURN_IF_ERROR(simulation.LoadSprites());

  // The cart: load cells and IMU.
  LoadCellModelParams params = LoadCellModelParams::RandomCart(options.plan.seed, 80);
  const BasketGeometry& basket = options.plan.basket;
  session::SessionManifest header;
  header.session_id = "sim-" + options.plan.scenario + "-n" + std::to_string(options.plan.items) +
                      "-s" + std::to_string(options.plan.seed);
  header.origin = "simulated";
  header.created_utc = kSimulatedCreatedUtc;
  header.basket_width_mm = basket.width_mm;
  header.basket_depth_mm = basket.depth_mm;
  header.basket_height_mm = basket.height_mm;
  header.load_cell_rate_hz = params.sample_rate_hz;
  for (int cell = 0; cell < kCellCount; ++cell) {
    const PointMm at = params.geometry.CellPosition(cell);
    session::LoadCellInfo info;
    info.name = sensors::CellName(cell);
    info.x_mm = at.x_mm + basket.width_mm / 2;
    info.y_mm = at.y_mm + basket.depth_mm / 2;
    info.offset_counts = params.cells[static_cast<std::size_t>(cell)].offset_counts;
    info.grams_per_count = 1000.0 / params.cells[static_cast<std::size_t>(cell)].span_per_kg_counts;
    header.load_cells.push_back(info);
  }
  header.has_temperature = params.temperature_sensor;
  header.imu_rate_hz = params.imu_rate_hz;
  const std::array<CameraPose, 2> poses = BasketCameraPoses(basket);
  for (int c = 0; c < 2; ++c) {
    const CameraModel model(poses[static_cast<std::size_t>(c)]);
    session::CameraInfo camera;
    camera.id = c;
    camera.name = model.pose().name;
    camera.role = session::CameraRole::kBasket;
    camera.width_px = model.pose().width_px;
    camera.height_px = model.pose().height_px;
    camera.fps = options.basket_fps;
    camera.capture = session::CaptureMode::kEventTriggered;
    camera.intrinsics = {model.fx_px(), model.fx_px(), model.cx_px(), model.cy_px(), {}};
    const cv::Matx33d h = model.ImageToFloor();
    std::array<double, 9> homography{};
    for (int i = 0; i < 9; ++i) homography[static_cast<std::size_t>(i)] = h(i / 3, i % 3);
    camera.floor_homography = homography;
    header.cameras.push_back(camera);
  }
  session::CameraInfo scanner;
  scanner.id = kScannerCameraId;
  scanner.name = "scanner";
  scanner.role = session::CameraRole::kScanner;
  scanner.width_px = 640;
  scanner.height_px = 480;
  scanner.fps = options.scanner_fps;
  scanner.capture = session::CaptureMode::kEventTriggered;
  scanner.intrinsics = {900, 900, 320, 240, {}};
  header.cameras.push_back(scanner);
  header.has_scanner_reads = !plan.scanner_reads.empty();
  header.has_touchscreen = !plan.touchscreen.empty();
  header.has_truth = true;
  header.catalogue_version = catalogue.version();

  session::WriterOptions writer_options;
  writer_options.jpeg_quality = options.jpeg_quality;
  CS_ASSIGN_OR_RETURN(std::unique_ptr<session::SessionWriter> writer,
                      session::SessionWriter::Create(options.out_dir, header, writer_options));

  // Frames: the two basket cameras on their own threads, the scanner split between them.
  const std::vector<FrameJob> jobs0 =
      FramesOf(simulation.BasketClips(0), options.basket_fps, plan.end_s);
  const std::vector<FrameJob> jobs1 =
      FramesOf(simulation.BasketClips(1), options.basket_fps, plan.end_s);
  const std::vector<FrameJob> scanner_jobs =
      FramesOf(simulation.ScannerClips(), options.scanner_fps, plan.end_s);
  const std::size_t half = scanner_jobs.size() / 2;
  const std::vector<FrameJob> scan_a(scanner_jobs.begin(),
                                     scanner_jobs.begin() + static_cast<std::ptrdiff_t>(half));
  const std::vector<FrameJob> scan_b(scanner_jobs.begin() + static_cast<std::ptrdiff_t>(half),
                                     scanner_jobs.end());
  std::vector<std::string> frames0;
  std::vector<std::string> frames1;
  std::vector<std::string> scanned_a;
  std::vector<std::string> scanned_b;
  if (options.threads >= 2) {
    std::thread worker([&] {
      frames1 = simulation.RenderBasket(1, jobs1);
      scanned_b = simulation.RenderScanner(scan_b);
    });
    frames0 = simulation.RenderBasket(0, jobs0);
    scanned_a = simulation.RenderScanner(scan_a);
    worker.join();
  } else {
    frames0 = simulation.RenderBasket(0, jobs0);
    frames1 = simulation.RenderBasket(1, jobs1);
    scanned_a = simulation.RenderScanner(scan_a);
    scanned_b = simulation.RenderScanner(scan_b);
  }

  // Load cells and IMU.
  Status sink_status;
  LoadCellModel model(params, options.plan.seed ^ 0x10adce11ULL);
  model.Run(
      plan.physics, plan.end_s,
      [&](const LoadCellSample& sample) {
        if (sink_status.ok()) sink_status = writer->AddLoadCell(sample);
      },
      [&](const ImuSample& sample) {
        if (sink_status.ok()) sink_status = writer->AddImu(sample);
      });
  CS_RETURN_IF_ERROR(sink_status);

  SimSummary summary;
  summary.duration_s = plan.end_s;
  const auto write_frames = [&](int camera, const std::vector<FrameJob>& jobs,
                                const std::vector<std::string>& encoded) -> Status {
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      CS_RETURN_IF_ERROR(writer->AddFrameJpeg(camera, Timestamp::FromSeconds(jobs[i].t_s),
                                              jobs[i].clip, encoded[i]));
    }
    summary.clips += jobs.empty() ? 0 : jobs.back().clip;
    return Status::Ok();
  };
  CS_RETURN_IF_ERROR(write_frames(0, jobs0, frames0));
  CS_RETURN_IF_ERROR(write_frames(1, jobs1, frames1));
  scanned_a.insert(scanned_a.end(), scanned_b.begin(), scanned_b.end());
  CS_RETURN_IF_ERROR(write_frames(kScannerCameraId, scanner_jobs, scanned_a));
  summary.basket_frames = static_cast<int64_t>(jobs0.size() + jobs1.size());
  summary.scanner_frames = static_cast<int64_t>(scanner_jobs.size());
  for (const ScannerRead& read : plan.scanner_reads)
    CS_RETURN_IF_ERROR(writer->AddScannerRead(read));
  for (const ShopperAction& action : plan.touchscreen) {
    CS_RETURN_IF_ERROR(writer->AddTouchscreen(action));
  }
  summary.actions = static_cast<int>(plan.truth.size());
  summary.scans = static_cast<int>(plan.scans.size());
  for (const ScanMove& scan : plan.scans) summary.hard_scans += scan.view.hard() ? 1 : 0;
  CS_RETURN_IF_ERROR(writer->SetTruth(TruthJson(options, plan, summary, catalogue.version())));
  CS_ASSIGN_OR_RETURN(const session::SessionManifest manifest, writer->Finish());
  for (const session::ManifestFile& file : manifest.files) summary.bytes += file.bytes;
  return summary;
}

}  // namespace cartsense::sim
