// Multi-camera association and view combination: which changed regions explain a weight event,
// and what product they show when every view's recognition is combined.
//
// Association. A weight event says where on the floor the load changed (the load cells' centre
// of pressure of the change, sensors::WeightEvent::item_position) and when (t_start..t_settle).
// Each basket camera reports its changed regions when its scene settles, each with the region's
// centre projected to the floor (the camera's floor homography). A region explains the event
// when it is of the event's kind (added for Δ > 0, vanished for Δ < 0), comes from a comparison
// made after the event started and not long after it settled, and lies near the event's floor
// position. Per camera at most one region is taken: the nearest.
//
// Combination. A view's recognition (top-k cosines) becomes a distribution over products by a
// softmax of cosine / temperature (the temperature matches the training head's scale, 1/30);
// products outside the top-k share no mass. Views are combined as independent evidence, tempered
// by `view_exponent` because two cameras looking at the same item are not independent:
//   p(product | views) ∝ Π_v p_v(product)^view_exponent,
// over the union of the views' top-k (a product missing from a view gets that view's smallest
// top-k probability times `missing_product_factor`). The not-in-catalogue probability is the
// views' mean. The result is what the reasoner multiplies with the prior, the weight and the
// scan (docs/reasoner.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "fusion/evidence.h"
#include "sensors/scale_calibration.h"

namespace cartsense::fusion {

struct ViewCombinationParams {
  double softmax_temperature = 1.0 / 30.0;  // on cosine similarity
  double view_exponent = 0.7;               // 1 = views independent
  double missing_product_factor = 0.5;
  // Association.
  double max_floor_distance_mm = 150;          // region centre to the event's floor position
  int64_t max_compare_after_settle_ms = 4000;  // comparisons later than this belong to later events
  double min_visible_share = 0.3;  // regions cut more than this by the border are skipped
};

struct ProductProbability {
  std::string product_id;
  double probability = 0;
};

struct CombinedViews {
  std::vector<ProductProbability> products;  // best first; probabilities sum to 1
  double not_in_catalogue_probability = 0;
  int views = 0;                          // regions combined (0: no vision for this event)
  std::vector<std::string> evidence_ids;  // the regions'
};

// The regions (at most one per camera) that explain a load change of sign `sign` (+1 added,
// -1 removed) that started at `t_start`, settled at `t_settle`, at floor position `position`
// (nullopt: unknown, then the largest region of the right kind per camera is taken). `views`
// may hold comparisons of any time; only those within the event's window count. Pointers
// point into `views`.
std::vector<const RegionEvidence*> SelectRegionsForEvent(
    const std::vector<VisionEvidence>& views, int sign, Timestamp t_start, Timestamp t_settle,
    const std::optional<sensors::PointMm>& position, const ViewCombinationParams& params);

// One view's distribution over its top-k products (softmax of cosine / temperature).
std::vector<ProductProbability> ViewDistribution(const RegionEvidence& region,
                                                 const ViewCombinationParams& params);

// Combines the regions' recognitions (see the header comment). No regions: views == 0 and no
// products.
CombinedViews CombineViews(const std::vector<const RegionEvidence*>& regions,
                           const ViewCombinationParams& params);

}  // namespace cartsense::fusion
